package sanitize

import "strings"

// A route is a known path shape of a major SaaS application. Its pattern
// matches the first segments of a path: a literal matches case-insensitively,
// "*" matches any segment (which is then classified as usual), and a
// placeholder matches any segment and replaces it. except lists values of the
// first segment for which the route does not apply (reserved top-level pages).
type route struct {
	host    string // exact host, or a domain suffix when it starts with "."
	pattern []string
	except  map[string]bool
}

func r(host, pattern string) route {
	return route{host: host, pattern: strings.Split(strings.Trim(pattern, "/"), "/")}
}

var gitHubReserved = set("about", "account", "apps", "codespaces", "collections", "contact", "copilot",
	"dashboard", "enterprise", "enterprises", "events", "explore", "features", "issues", "join", "login",
	"logout", "marketplace", "new", "notifications", "orgs", "organizations", "pricing", "pulls", "search",
	"security", "settings", "signup", "site", "sponsors", "team", "topics", "trending", "users", "api",
	"dashboard", "groups", "projects", "help", "admin", "-", "session", "sessions", "password_reset",
	"home", "i", "messages", "compose", "hashtag", "tos", "privacy", "intent", "share", "watch", "feed",
	"results", "channel", "c", "playlist", "shorts", "premium", "status", "download", "blog", "docs")

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// routes are checked in order; the first whose host and pattern match wins.
var routes = []route{
	// Google Workspace: documents, forms, Drive, Gmail, Meet.
	r("docs.google.com", "/forms/d/e/{id}"),
	r("docs.google.com", "/*/d/{id}"),
	r("docs.google.com", "/*/u/{id}/d/{id}"),
	r("drive.google.com", "/drive/folders/{id}"),
	r("drive.google.com", "/drive/u/{id}/folders/{id}"),
	r("drive.google.com", "/file/d/{id}"),
	r("drive.google.com", "/file/u/{id}/d/{id}"),
	r("mail.google.com", "/mail/u/{id}"),
	r("meet.google.com", "/{id}"),
	r("calendar.google.com", "/calendar/u/{id}"),
	r("sites.google.com", "/view/{id}"),
	// Microsoft 365.
	r("teams.microsoft.com", "/l/meetup-join/{token}/{id}"),
	r("teams.microsoft.com", "/l/message/{token}/{id}"),
	r("teams.microsoft.com", "/l/channel/{token}/{token}"),
	r("teams.microsoft.com", "/l/chat/{token}/{token}"),
	r("teams.microsoft.com", "/l/team/{token}/{token}"),
	r("teams.microsoft.com", "/l/file/{token}"),
	r("teams.microsoft.com", "/l/entity/{id}/{token}"),
	r("outlook.office.com", "/mail/*/id/{token}"),
	r("outlook.office365.com", "/mail/*/id/{token}"),
	r("outlook.live.com", "/mail/*/id/{token}"),
	r(".sharepoint.com", "/personal/{user}"),
	r(".sharepoint.com", "/*/*/personal/{user}"),
	r(".sharepoint.com", "/*/s/*/{token}"),
	r(".sharepoint.com", "/*/r/personal/{user}"),
	// Slack and Zoom.
	r("app.slack.com", "/client/{id}/{id}"),
	r(".slack.com", "/archives/{id}/{id}"),
	r(".slack.com", "/team/{id}"),
	r(".zoom.us", "/j/{id}"),
	r(".zoom.us", "/w/{id}"),
	r(".zoom.us", "/s/{id}"),
	r(".zoom.us", "/my/{user}"),
	r(".zoom.us", "/rec/share/{token}"),
	r(".zoom.us", "/rec/play/{token}"),
	r(".zoom.us", "/wc/join/{id}"),
	r(".zoom.us", "/wc/{id}"),
	// Salesforce, ServiceNow, Workday, Atlassian.
	r(".lightning.force.com", "/lightning/r/*/{id}"),
	r(".service-now.com", "/now/nav/ui/classic/params/target/{token}"),
	r(".myworkday.com", "/*/d/inst/{token}/{token}"),
	r(".atlassian.net", "/wiki/spaces/*/pages/{id}/*"),
	r(".atlassian.net", "/jira/people/{user}"),
	r(".atlassian.net", "/wiki/people/{user}"),
	// Identity providers: enrolment and reset links carry a token after these words.
	r(".okta.com", "/signin/reset-password/{token}"),
	r(".okta.com", "/tokens/{token}"),
	r(".okta.com", "/welcome/{token}"),
	r(".okta.com", "/email/verify/{token}"),
	r(".auth0.com", "/lo/reset/{token}"),
	// Per-person hosts: the first segment names a person or an organisation.
	{host: "github.com", pattern: []string{phUser, "*", "compare", phToken}, except: gitHubReserved},
	{host: "github.com", pattern: []string{phUser}, except: gitHubReserved},
	{host: "gist.github.com", pattern: []string{phUser}, except: gitHubReserved},
	{host: "gitlab.com", pattern: []string{phUser}, except: gitHubReserved},
	{host: "bitbucket.org", pattern: []string{phUser}, except: gitHubReserved},
	{host: "x.com", pattern: []string{phUser}, except: gitHubReserved},
	{host: "twitter.com", pattern: []string{phUser}, except: gitHubReserved},
	{host: "www.instagram.com", pattern: []string{phUser}, except: gitHubReserved},
	{host: "www.facebook.com", pattern: []string{phUser}, except: gitHubReserved},
	r("www.linkedin.com", "/in/{user}"),
	r("www.linkedin.com", "/pub/{user}"),
	r("www.youtube.com", "/user/{user}"),
	r("www.youtube.com", "/c/{user}"),
	r("calendly.com", "/{user}"),
}

// routesByHost indexes routes by exact host and by domain suffix
// (".sharepoint.com"), keeping their order.
var routesByHost = func() map[string][]*route {
	m := make(map[string][]*route)
	for i := range routes {
		m[routes[i].host] = append(m[routes[i].host], &routes[i])
	}
	return m
}()

// applyRoutes writes the placeholder for every segment the first matching
// route templates into over (empty entries stay to be classified). Routes
// for the exact host come first, then those for its suffixes, longest first.
func applyRoutes(host string, segs []string, over []string) {
	if applyRouteList(routesByHost[host], segs, over) {
		return
	}
	for i := 0; i < len(host); i++ {
		if host[i] == '.' && applyRouteList(routesByHost[host[i:]], segs, over) {
			return
		}
	}
}

func applyRouteList(list []*route, segs []string, over []string) bool {
	for _, rt := range list {
		if len(segs) < len(rt.pattern) {
			continue
		}
		if rt.except != nil && rt.except[strings.ToLower(segs[0])] {
			continue
		}
		ok := true
		for j, p := range rt.pattern {
			if p != "*" && p[0] != '{' && !strings.EqualFold(p, segs[j]) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		for j, p := range rt.pattern {
			if p[0] == '{' {
				over[j] = p
			}
		}
		return true
	}
	return false
}

// personWords are path words after which the next segment names a person.
var personWords = set("users", "user", "people", "person", "profile", "profiles", "member", "members",
	"employee", "employees", "staff", "author", "authors", "contact", "contacts", "customer", "customers",
	"patient", "patients", "personal", "student", "students", "candidate", "candidates", "applicant",
	"applicants", "u", "teammate", "teammates")

// notAPerson are words that commonly follow a person word without naming one.
var notAPerson = set("me", "self", "current", "new", "edit", "search", "list", "all", "settings",
	"invite", "invites", "create", "export", "import", "admin", "directory", "groups", "roles",
	"permissions", "overview", "home", "index", "login", "signup", "sign-in", "sign-up", "add",
	"sign_in", "sign_up", "sign_out", "logout", "password", "preferences", "notifications", "security",
	"billing", "personal_access_tokens", "requested_tickets", "activity", "api", "bulk", "count")

// passThrough are words that may stand between a person word and the
// person's segment (/users/details/jane.doe).
var passThrough = set("details", "detail", "view", "show", "info", "by-name", "byname", "id", "by-id",
	"name", "handle", "username", "login-name", "@")

// secretWords are path words after which the segments carry a capability
// (reset, magic-link, invitation and unsubscribe tokens): every later segment
// that is not a lower-case word becomes {token}.
var secretWords = set("reset", "reset-password", "resetpassword", "password-reset", "passwordreset",
	"verify", "verification", "verify-email", "confirm", "confirmation", "confirm-email", "activate",
	"activation", "magic", "magic-link", "magiclink", "invite", "invitation", "invitations", "unsubscribe",
	"optout", "opt-out", "token", "tokens", "passwordless", "login-link", "signin-link", "one-time",
	"otp", "recover", "recovery", "set-password", "setpassword", "forgot-password", "email-verification",
	"e", "t", "track", "click", "ls", "wf", "ss", "sharing", "shared-link", "share", "download-link")
