package site

import (
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/session"
)

// coreRoutes are the console's own pages: home, sign-in and -out, static
// assets. The areas add theirs through Register.
func (s *Site) coreRoutes() {
	static, err := fs.Sub(s.static, "static")
	if err != nil {
		// fs.Sub fails only for an invalid name, and "static" is valid.
		panic(err)
	}
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	s.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
	s.Page("GET /{$}", s.homePage)
	s.Public("GET /signin", s.signinPage)
	s.Public("POST /signin", s.signin)
	s.Page("POST /signout", s.signout)
	s.Public("/", func(http.ResponseWriter, *Request) error { return NotFound("error.notfound") })
}

type homeData struct {
	Name  string
	Roles []string
}

func (s *Site) homePage(w http.ResponseWriter, r *Request) error {
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
	return s.Render(w, r, "home.html", "home.title", d)
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

func (s *Site) signinPage(w http.ResponseWriter, r *Request) error {
	if r.Session != nil {
		return Redirect(w, r, safeNext(r.URL.Query().Get("next")))
	}
	tok, err := s.preCSRF(w, r)
	if err != nil {
		return err
	}
	return s.Render(w, r, "signin.html", "signin.title", signinData{Next: safeNext(r.URL.Query().Get("next")), CSRF: tok})
}

// preCSRF returns the sign-in form's double-submit token, setting its
// cookie when the browser has none.
func (s *Site) preCSRF(w http.ResponseWriter, r *Request) (string, error) {
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

func (s *Site) signin(w http.ResponseWriter, r *Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	c, err := r.Cookie(preCSRFCookie)
	if err != nil || !validCSRF(c.Value, r.FormValue(csrfField)) {
		return errCSRF
	}
	next := safeNext(r.FormValue("next"))
	token := strings.TrimSpace(r.FormValue("token"))
	if token == "" {
		return s.RenderStatus(w, r, http.StatusBadRequest, "signin.html", "signin.title",
			signinData{Next: next, CSRF: c.Value, Error: r.T("signin.error.required")})
	}
	p, err := s.verifier.Verify(r.Context(), token)
	if errors.Is(err, auth.ErrUnauthenticated) {
		s.refusedSignIn(r)
		return s.RenderStatus(w, r, http.StatusUnauthorized, "signin.html", "signin.title",
			signinData{Next: next, CSRF: c.Value, Error: r.T("signin.error.invalid")})
	}
	if err != nil {
		s.Logger.ErrorContext(r.Context(), "sign-in: token could not be verified", "err", err)
		return s.RenderStatus(w, r, http.StatusServiceUnavailable, "signin.html", "signin.title",
			signinData{Next: next, CSRF: c.Value, Error: r.T("signin.error.unavailable")})
	}
	if r.Session != nil {
		s.Sessions.Delete(r.Session.ID)
	}
	sess, err := s.Sessions.Create(token, p)
	if err != nil {
		return err
	}
	s.Logger.InfoContext(r.Context(), "signed in", "subject", p.Subject, "credential", p.CredentialID)
	setCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.ID, Path: "/", HttpOnly: true, //nolint:gosec // G124: Secure follows TLS or Config.SecureCookies (s.secure)
		SameSite: http.SameSiteLaxMode, Secure: s.secure(r.Request)})
	setCookie(w, &http.Cookie{Name: preCSRFCookie, Value: "", Path: "/signin", MaxAge: -1, HttpOnly: true, //nolint:gosec // G124: Secure follows TLS or Config.SecureCookies (s.secure)
		SameSite: http.SameSiteStrictMode, Secure: s.secure(r.Request)})
	return Redirect(w, r, next)
}

func (s *Site) signout(w http.ResponseWriter, r *Request) error {
	s.Sessions.Delete(r.Session.ID)
	setCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, //nolint:gosec // G124: Secure follows TLS or Config.SecureCookies (s.secure)
		SameSite: http.SameSiteLaxMode, Secure: s.secure(r.Request)})
	return Redirect(w, r, "/signin")
}

// refusedSignIn counts a refused sign-in against the browser's address
// and holds its answer back for the delay that address has earned, so a
// guesser at the console slows only himself. The APIs behind the console
// also limit per token id, but they see the console's address, not the
// browser's. The log line names the address, never the token.
func (s *Site) refusedSignIn(r *Request) {
	source := r.RemoteAddr
	if host, _, err := net.SplitHostPort(source); err == nil {
		source = host
	}
	counts, wait := s.signins.Fail(s.Now(), "source "+source)
	s.Logger.WarnContext(r.Context(), "console sign-in refused", "source", source, "source.failures", counts[0], "answer_delay", wait)
	if wait <= 0 {
		return
	}
	if s.signinWait != nil {
		s.signinWait(r.Context(), wait)
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.Context().Done():
	}
}
