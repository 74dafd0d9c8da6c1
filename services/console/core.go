package console

import (
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/session"
)

// coreRoutes are the console's own pages: home, sign-in and -out, static
// assets. Features add theirs through registerFeature.
func (s *Server) coreRoutes() {
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		// "static" is embedded by the go:embed directive; the build fails
		// without it.
		panic(err)
	}
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	s.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
	s.page("GET /{$}", s.homePage)
	s.public("GET /signin", s.signinPage)
	s.public("POST /signin", s.signin)
	s.page("POST /signout", s.signout)
	s.public("/", func(http.ResponseWriter, *Request) error { return notFound("error.notfound") })
}

type homeData struct {
	Name  string
	Roles []string
}

func (s *Server) homePage(w http.ResponseWriter, r *Request) error {
	p := r.Principal()
	d := homeData{Name: p.Name}
	if d.Name == "" {
		d.Name = p.Subject
	}
	for _, g := range p.Grants {
		role := r.T("role." + string(g.Role))
		switch {
		case len(g.Concepts) > 0:
			role += " (" + strings.Join(g.Concepts, ", ") + ")"
		case g.System != "":
			role += " (" + g.System + ")"
		}
		d.Roles = append(d.Roles, role)
	}
	return s.render(w, r, "home.html", "home.title", d)
}

type signinData struct {
	Next  string
	Error string
	// CSRF is the sign-in form's own token (there is no session yet).
	CSRF string
}

// safeNext keeps a post-sign-in destination only when it is a path on
// this console, so sign-in cannot be used to send people elsewhere.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

func (s *Server) signinPage(w http.ResponseWriter, r *Request) error {
	if r.Session != nil {
		return redirect(w, r, safeNext(r.URL.Query().Get("next")))
	}
	tok, err := s.preCSRF(w, r)
	if err != nil {
		return err
	}
	return s.render(w, r, "signin.html", "signin.title", signinData{Next: safeNext(r.URL.Query().Get("next")), CSRF: tok})
}

// preCSRF returns the sign-in form's double-submit token, setting its
// cookie when the browser has none.
func (s *Server) preCSRF(w http.ResponseWriter, r *Request) (string, error) {
	if c, err := r.Cookie(preCSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value, nil
	}
	tok, err := session.RandomID()
	if err != nil {
		return "", err
	}
	setCookie(w, &http.Cookie{Name: preCSRFCookie, Value: tok, Path: "/signin", HttpOnly: true, //nolint:gosec // G124: Secure follows TLS or Config.SecureCookies (s.secure)
		SameSite: http.SameSiteStrictMode, Secure: s.secure(r.Request)})
	return tok, nil
}

func (s *Server) signin(w http.ResponseWriter, r *Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	c, err := r.Cookie(preCSRFCookie)
	if err != nil || !validCSRF(c.Value, r.FormValue(csrfField)) {
		return errCSRF
	}
	next := safeNext(r.FormValue("next"))
	token := strings.TrimSpace(r.FormValue("token"))
	if token == "" {
		return s.renderStatus(w, r, http.StatusBadRequest, "signin.html", "signin.title",
			signinData{Next: next, CSRF: c.Value, Error: r.T("signin.error.required")})
	}
	p, err := s.cfg.Verifier.Verify(r.Context(), token)
	if errors.Is(err, auth.ErrUnauthenticated) {
		return s.renderStatus(w, r, http.StatusUnauthorized, "signin.html", "signin.title",
			signinData{Next: next, CSRF: c.Value, Error: r.T("signin.error.invalid")})
	}
	if err != nil {
		s.logger.ErrorContext(r.Context(), "sign-in: token could not be verified", "err", err)
		return s.renderStatus(w, r, http.StatusServiceUnavailable, "signin.html", "signin.title",
			signinData{Next: next, CSRF: c.Value, Error: r.T("signin.error.unavailable")})
	}
	if r.Session != nil {
		s.sessions.Delete(r.Session.ID)
	}
	sess, err := s.sessions.Create(token, p)
	if err != nil {
		return err
	}
	s.logger.InfoContext(r.Context(), "signed in", "subject", p.Subject, "credential", p.CredentialID)
	setCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.ID, Path: "/", HttpOnly: true, //nolint:gosec // G124: Secure follows TLS or Config.SecureCookies (s.secure)
		SameSite: http.SameSiteLaxMode, Secure: s.secure(r.Request)})
	setCookie(w, &http.Cookie{Name: preCSRFCookie, Value: "", Path: "/signin", MaxAge: -1, HttpOnly: true, //nolint:gosec // G124: Secure follows TLS or Config.SecureCookies (s.secure)
		SameSite: http.SameSiteStrictMode, Secure: s.secure(r.Request)})
	return redirect(w, r, next)
}

func (s *Server) signout(w http.ResponseWriter, r *Request) error {
	s.sessions.Delete(r.Session.ID)
	setCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, //nolint:gosec // G124: Secure follows TLS or Config.SecureCookies (s.secure)
		SameSite: http.SameSiteLaxMode, Secure: s.secure(r.Request)})
	return redirect(w, r, "/signin")
}
