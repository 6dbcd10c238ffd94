package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"webusage/privacy"
)

// openAPISpec is the part of docs/openapi.json these tests read.
type openAPISpec struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

// openAPIOperation is one documented operation.
type openAPIOperation struct {
	OperationID      string                     `json:"operationId"`
	Permission       string                     `json:"x-permission"`
	ExportPermission string                     `json:"x-export-permission"`
	Security         []map[string][]string      `json:"security"`
	Responses        map[string]json.RawMessage `json:"responses"`
}

// Non-permission values of x-permission.
const (
	permPublic     = "public"      // no token
	permEnrollment = "enrollment"  // an enrollment token
	permAccount    = "any_account" // any account token, whatever its roles
)

var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// documentedOp is an operation with its method and path.
type documentedOp struct {
	method, path string
	op           openAPIOperation
}

func loadOpenAPI(t *testing.T) (openAPISpec, []documentedOp, map[string]any) {
	t.Helper()
	raw, err := os.ReadFile("../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec openAPISpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatalf("docs/openapi.json is not valid JSON: %v", err)
	}
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", spec.OpenAPI)
	}
	var ops []documentedOp
	for path, item := range spec.Paths {
		for key, body := range item {
			if !slices.Contains(openAPIMethods, key) {
				continue // parameters, summary, description …
			}
			var op openAPIOperation
			if err := json.Unmarshal(body, &op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			ops = append(ops, documentedOp{method: strings.ToUpper(key), path: path, op: op})
		}
	}
	slices.SortFunc(ops, func(a, b documentedOp) int { return strings.Compare(a.path+" "+a.method, b.path+" "+b.method) })
	return spec, ops, tree
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIMatchesRoutes fails when a route the server registers is not
// documented, or a documented path and method is not served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ts := startServer(t)
	_, ops, _ := loadOpenAPI(t)
	served := map[string]bool{}
	for _, r := range ts.srv.echo.Routes() {
		if r.Method == echo.RouteNotFound {
			continue // echo's catch-alls for group middleware, not endpoints
		}
		served[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for _, o := range ops {
		documented[o.method+" "+o.path] = true
	}
	for _, k := range sortedKeys(served) {
		if !documented[k] {
			t.Errorf("served but not documented in docs/openapi.json: %s", k)
		}
	}
	for _, k := range sortedKeys(documented) {
		if !served[k] {
			t.Errorf("documented in docs/openapi.json but not served: %s", k)
		}
	}
}

// TestOpenAPIIsWellFormed checks what a reader relies on: unique operation
// ids, a known x-permission on every operation, the matching security
// scheme, 401/403 documented wherever a token is needed, and every $ref
// resolving.
func TestOpenAPIIsWellFormed(t *testing.T) {
	_, ops, tree := loadOpenAPI(t)
	ids := map[string]string{}
	for _, o := range ops {
		name := o.method + " " + o.path
		if o.op.OperationID == "" {
			t.Errorf("%s: no operationId", name)
		} else if prev, dup := ids[o.op.OperationID]; dup {
			t.Errorf("%s: operationId %q already used by %s", name, o.op.OperationID, prev)
		}
		ids[o.op.OperationID] = name
		if !knownPermission(o.op.Permission) {
			t.Errorf("%s: x-permission %q is not a permission, %q, %q or %q", name, o.op.Permission, permPublic, permEnrollment, permAccount)
		}
		if o.op.ExportPermission != "" && o.op.ExportPermission != string(privacy.ExportWebUsage) {
			t.Errorf("%s: x-export-permission %q, want %q", name, o.op.ExportPermission, privacy.ExportWebUsage)
		}
		wantScheme := "accountToken"
		switch o.op.Permission {
		case permPublic:
			wantScheme = ""
		case permEnrollment:
			wantScheme = "enrollmentToken"
		}
		var schemes []string
		for _, req := range o.op.Security {
			for k := range req {
				schemes = append(schemes, k)
			}
		}
		switch {
		case wantScheme == "" && len(schemes) > 0:
			t.Errorf("%s: public but security = %v", name, schemes)
		case wantScheme != "" && !slices.Equal(schemes, []string{wantScheme}):
			t.Errorf("%s: security = %v, want [%s]", name, schemes, wantScheme)
		}
		success := false
		for code := range o.op.Responses {
			success = success || strings.HasPrefix(code, "2")
		}
		if !success {
			t.Errorf("%s: no 2xx response documented", name)
		}
		if wantScheme != "" {
			for _, code := range []string{"401", "403"} {
				if _, ok := o.op.Responses[code]; !ok {
					t.Errorf("%s: needs a token but documents no %s response", name, code)
				}
			}
		}
	}
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok && !resolves(tree, ref) {
				t.Errorf("%s: $ref %q does not resolve", at, ref)
			}
			for k, c := range x {
				walk(at+"/"+k, c)
			}
		case []any:
			for i, c := range x {
				walk(fmt.Sprintf("%s/%d", at, i), c)
			}
		}
	}
	walk("#", tree)
}

// TestOpenAPIPermissionsAreEnforced sends every documented operation
// without a token, with the wrong kind of token and with an account
// lacking the documented permission, and checks the server refuses as
// documented (and admits, for reads, an account holding only that
// permission).
func TestOpenAPIPermissionsAreEnforced(t *testing.T) {
	ts := startServer(t)
	_, ops, _ := loadOpenAPI(t)
	tokens := map[string]string{} // "without:<perm>", "only:<perm>", "none"
	account := func(key string, perms []privacy.Permission) string {
		if tok, ok := tokens[key]; ok {
			return tok
		}
		role := map[string]any{"name": "openapi " + key, "type": "main", "view_domain": map[string]any{"access": "full"},
			"privacy":     map[string]any{"users": "visible", "devices": "visible", "destinations": "visible"},
			"permissions": perms}
		id := ts.do("POST", "/api/v1/roles", ts.admin, role).must(t, 201).json(t)["id"]
		acct := map[string]any{"name": "openapi " + key, "main_role": id}
		tok := ts.do("POST", "/api/v1/accounts", ts.admin, acct).must(t, 201).json(t)["token"].(string)
		tokens[key] = tok
		return tok
	}
	without := func(p privacy.Permission) string {
		var perms []privacy.Permission
		for _, q := range privacy.AllPermissions() {
			if q == p || (p == privacy.Administrator && q == privacy.DataManagement) {
				continue // data_management needs administrator in the same role
			}
			perms = append(perms, q)
		}
		return account("without "+string(p), perms)
	}
	only := func(p privacy.Permission) string {
		perms := []privacy.Permission{p}
		if p == privacy.DataManagement {
			perms = append(perms, privacy.Administrator)
		}
		return account("only "+string(p), perms)
	}
	concrete := regexp.MustCompile(`\{[^}]+\}`)
	for _, o := range ops {
		name := o.method + " " + o.path
		path := concrete.ReplaceAllString(o.path, "999999")
		t.Run(name, func(t *testing.T) {
			switch perm := o.op.Permission; perm {
			case permPublic:
				if r := ts.do(o.method, path, "", nil); r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
					t.Errorf("documented public, got %d without a token: %s", r.status, r.body)
				}
			case permEnrollment:
				expectStatus(t, ts.do(o.method, path, "", nil), http.StatusUnauthorized, "without a token")
				expectStatus(t, ts.do(o.method, path, ts.admin, nil), http.StatusForbidden, "with an account token")
			case permAccount:
				expectStatus(t, ts.do(o.method, path, "", nil), http.StatusUnauthorized, "without a token")
				expectStatus(t, ts.do(o.method, path, ts.enroll, nil), http.StatusForbidden, "with an enrollment token")
				if r := ts.do(o.method, path, account("none", []privacy.Permission{}), nil); r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
					t.Errorf("documented for any account, got %d for an account without permissions: %s", r.status, r.body)
				}
			default:
				p := privacy.Permission(perm)
				expectStatus(t, ts.do(o.method, path, "", nil), http.StatusUnauthorized, "without a token")
				expectStatus(t, ts.do(o.method, path, ts.enroll, nil), http.StatusForbidden, "with an enrollment token")
				r := ts.do(o.method, path, without(p), nil)
				expectStatus(t, r, http.StatusForbidden, "for an account without "+perm)
				if r.status == http.StatusForbidden && !strings.Contains(string(r.body), perm) {
					t.Errorf("refusal does not name %s: %s", perm, r.body)
				}
				if o.method == http.MethodGet { // reads only: writes would change the server under test
					if r := ts.do(o.method, path, only(p), nil); r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
						t.Errorf("an account holding only %s got %d: %s", perm, r.status, r.body)
					}
				}
			}
			if o.op.ExportPermission != "" {
				csvPath := path + "?format=csv"
				r := ts.do(o.method, csvPath, without(privacy.ExportWebUsage), nil)
				expectStatus(t, r, http.StatusForbidden, "CSV without export_web_usage")
				if r.status == http.StatusForbidden {
					if f, _ := r.errorField(t); f != "format" {
						t.Errorf("CSV refusal names field %q, want format", f)
					}
				}
				r = ts.do(o.method, path, ts.admin, nil, "Accept", "text/csv")
				if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
					t.Errorf("Accept: text/csv gave %d %q", r.status, r.header.Get("Content-Type"))
				}
			}
		})
	}
}

func expectStatus(t *testing.T, r response, want int, when string) {
	t.Helper()
	if r.status != want {
		t.Errorf("%s: status %d, want %d: %.200s", when, r.status, want, r.body)
	}
}

func knownPermission(p string) bool {
	if p == permPublic || p == permEnrollment || p == permAccount {
		return true
	}
	return slices.Contains(privacy.AllPermissions(), privacy.Permission(p))
}

// resolves reports whether a local JSON pointer ("#/components/…") names a
// node of tree.
func resolves(tree map[string]any, ref string) bool {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = tree
	for _, part := range strings.Split(rest, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
