package influxdb

import (
	"net/http"
	"strings"

	"github.com/perch-dev/perch/sources/secret"
)

// redactor removes the token from error text in every form a server may
// echo it (a 401 page or a JSON message quoting the Authorization header,
// base64-encoded; a redirect URL holding it URL-escaped).
type redactor struct{ r *secret.Redactor }

func newRedactor(c Config) redactor {
	r := secret.New().Add(tokenValues(c.Token)...)
	if c.TokenFile != "" {
		// Re-read at each redaction: the token rotates.
		r.Add(tokenValues(secret.ReadToken(c.TokenFile))...)
		r.AddFunc(func() []string { return tokenValues(secret.ReadToken(c.TokenFile)) })
	}
	return redactor{r: r}
}

// tokenValues are a token and the header carrying it; 1.8's
// "user:password" token holds a password that is a secret alone too.
func tokenValues(token string) []string {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil
	}
	out := []string{token, "Token " + token}
	if _, pass, ok := strings.Cut(token, ":"); ok && len(pass) >= 4 {
		out = append(out, pass)
	}
	return out
}

// wrap returns err with every secret replaced (see secret.Redactor.Error).
func (r redactor) wrap(err error) error { return r.r.Error(err) }

// guardCredentials keeps the token on the configured server: a redirect
// elsewhere (which the HTTP client follows through authTransport, which
// sets the token again) leaves without it.
func guardCredentials(c Config, base http.RoundTripper) http.RoundTripper {
	origin, _ := secret.OriginOf(c.URL) // checked by the config; a zero Origin strips everywhere
	return &secret.Guard{Base: base, Origin: origin}
}
