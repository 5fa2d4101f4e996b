package jaeger

import (
	"net/http"

	"github.com/perch-dev/perch/sources/secret"
)

// newRedactor knows the token in every form an error page may echo it
// (verbatim, base64 of the whole Authorization header, URL-escaped); a
// token file is re-read at each redaction, as it rotates.
func newRedactor(c Config) *secret.Redactor {
	return secret.New().AddToken("Bearer", c.BearerToken).AddTokenFile("Bearer", c.TokenFile)
}

// guardCredentials keeps the token on the configured server's origin: the
// HTTP client copies Authorization to a redirect on the same host name
// (another port, or https to http), the Guard does not.
func guardCredentials(c Config, base http.RoundTripper) http.RoundTripper {
	origin, _ := secret.OriginOf(c.URL) // checked by the config; a zero Origin strips everywhere
	return &secret.Guard{Base: base, Origin: origin}
}
