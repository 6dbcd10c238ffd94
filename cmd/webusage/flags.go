package main

import (
	"flag"
	"os"
	"strings"
)

// envFlags makes every flag of fs default to the environment variable
// WEBUSAGE_<FLAG> (upper-case, dashes as underscores) when it is set.
// Flags given on the command line still win. It returns the first invalid
// value found in the environment, if any.
func envFlags(fs *flag.FlagSet) error {
	var firstErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "WEBUSAGE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if err := f.Value.Set(v); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	})
	return firstErr
}
