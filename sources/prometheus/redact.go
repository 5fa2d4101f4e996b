package prometheus

import "github.com/perch-dev/perch/sources/secret"

// newRedactor removes the configured credentials from error text.
// Credentials never go into URLs here (the config moves them out) and only
// to the configured host (client.go), but a server may echo the request in
// its error page or redirect URL: the Authorization header verbatim,
// URL-escaped, or base64-encoded.
func newRedactor(c Config) *secret.Redactor {
	r := secret.New().AddToken("Bearer", c.BearerToken).AddTokenFile("Bearer", c.BearerTokenFile)
	r.AddBasic(c.Username, c.Password)
	for k, v := range c.Headers {
		if secret.LooksSensitive(k) {
			r.Add(v)
		}
	}
	return r
}
