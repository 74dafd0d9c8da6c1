package site

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/i18n"
	"github.com/samnav/samnav/services/console/internal/session"
)

const (
	// SessionCookie names the cookie that carries the session id.
	SessionCookie = "samnav_session"
	langCookie    = "samnav_lang"
	// preCSRFCookie carries the sign-in form's CSRF token before there is
	// a session (double-submit).
	preCSRFCookie = "samnav_signin"
	// csrfField is the hidden field every POST form carries.
	csrfField = "csrf"
	// maxFormBytes bounds an ordinary form; imports set their own bound.
	maxFormBytes = 1 << 20
	// MaxUploadBytes bounds a multipart form (an import's file and
	// fields): a 32 MiB file and 1 MiB of fields.
	MaxUploadBytes = 32<<20 + 1<<20
)

// Request is what a page handler knows about the request it serves.
type Request struct {
	*http.Request
	Lang i18n.Lang
	// Session is the signed-in person's session; nil on public pages for
	// an anonymous visitor.
	Session *session.Session
	// locals is what areas keep for this request (see Local).
	locals map[any]any
}

// Local returns what an area keeps for this request under key, made by
// mk the first time it is asked for. A request is served by one
// goroutine, so Local needs no lock.
func Local[T any](r *Request, key any, mk func() T) T {
	if v, ok := r.locals[key]; ok {
		return v.(T)
	}
	if r.locals == nil {
		r.locals = map[any]any{}
	}
	v := mk()
	r.locals[key] = v
	return v
}

// Principal returns the signed-in principal, or nil.
func (r *Request) Principal() *auth.Principal {
	if r.Session == nil {
		return nil
	}
	return r.Session.Principal
}

// Token returns the signed-in person's API token, or "".
func (r *Request) Token() string {
	if r.Session == nil {
		return ""
	}
	return r.Session.Token
}

// T returns the message key in the request's language.
func (r *Request) T(key string, args ...any) string { return catalogue.T(r.Lang, key, args...) }

// Text returns a model text in the request's language.
func (r *Request) Text(t model.Text) string { return Pick(r.Lang, t) }

func Pick(l i18n.Lang, t model.Text) string {
	if l == i18n.EN && t.EN != "" {
		return t.EN
	}
	if t.SV == "" {
		return t.EN
	}
	return t.SV
}

// HandlerFunc serves a page. A returned error is shown once, by
// s.fail: an API refusal as the refused page (403), an API not-found as
// 404, anything else as 500 (logged).
type HandlerFunc func(w http.ResponseWriter, r *Request) error

// Page registers h for pattern (a ServeMux pattern with a method) for
// signed-in people only: anonymous visitors are sent to sign in. Every
// non-GET request must carry the session's CSRF token in the "csrf"
// form field or it is refused (403) before h runs.
func (s *Site) Page(pattern string, h HandlerFunc) {
	s.mux.Handle(pattern, s.wrap(h, true))
}

// Public registers h for pattern for everyone; r.Session is set when the
// visitor is signed in. A public non-GET handler must check CSRF on its own
// (the sign-in form does, with its own double-submit token).
func (s *Site) Public(pattern string, h HandlerFunc) {
	s.mux.Handle(pattern, s.wrap(h, false))
}

func (s *Site) wrap(h HandlerFunc, signedIn bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		r := &Request{Request: hr, Lang: s.language(w, hr)}
		if c, err := hr.Cookie(SessionCookie); err == nil {
			if sess, ok := s.Sessions.Get(c.Value); ok && s.current(hr.Context(), sess) {
				r.Session = sess
			}
		}
		if r.Session == nil && signedIn {
			if hr.Method == http.MethodGet || hr.Method == http.MethodHead {
				http.Redirect(w, hr, "/signin?next="+url.QueryEscape(hr.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, errSignedOut)
			return
		}
		if hr.Method != http.MethodGet && hr.Method != http.MethodHead && signedIn {
			limit := int64(maxFormBytes)
			if strings.HasPrefix(hr.Header.Get("Content-Type"), "multipart/") {
				limit = MaxUploadBytes
			}
			hr.Body = http.MaxBytesReader(w, hr.Body, limit)
			if !validCSRF(r.Session.CSRF, hr.FormValue(csrfField)) {
				s.fail(w, r, errCSRF)
				return
			}
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// current reports whether sess's token is still good: a session lives no
// longer than the token it was signed in with, so a token revoked or
// expired after sign-in ends the session at once (it is deleted) rather
// than at the session's idle timeout; pages that call no API would
// otherwise go on answering it. When the token cannot be checked (its
// store is down) the request is served as signed out, and the session
// kept for when it can.
func (s *Site) current(ctx context.Context, sess *session.Session) bool {
	_, err := s.verifier.Verify(ctx, sess.Token)
	switch {
	case err == nil:
		return true
	case errors.Is(err, auth.ErrUnauthenticated):
		s.Sessions.Delete(sess.ID)
		s.Logger.InfoContext(ctx, "session ended: its token is no longer valid", "subject", sess.Principal.Subject, "credential", sess.Principal.CredentialID)
	default:
		s.Logger.WarnContext(ctx, "session token could not be checked", "err", err)
	}
	return false
}

func validCSRF(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// language picks the request's language: ?lang= (remembered in a cookie),
// else the cookie, else Swedish.
func (s *Site) language(w http.ResponseWriter, r *http.Request) i18n.Lang {
	if l, ok := i18n.Parse(r.URL.Query().Get("lang")); ok {
		setCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600, //nolint:gosec // G124: Secure follows TLS or Config.SecureCookies (s.secure)
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r)})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := i18n.Parse(c.Value); ok {
			return l
		}
	}
	return i18n.Default
}

// Errors the wrapper shows as refusals.
var (
	errSignedOut = &pageError{status: http.StatusForbidden, key: "error.signedout"}
	errCSRF      = &pageError{status: http.StatusForbidden, key: "error.csrf"}
)

// pageError is an error shown as a page with a status and a message key.
type pageError struct {
	status int
	key    string
	args   []any
}

func (e *pageError) Error() string { return fmt.Sprintf("%d %s", e.status, e.key) }

// NotFound returns an error shown as the not-found page.
func NotFound(key string, args ...any) error {
	return &pageError{status: http.StatusNotFound, key: key, args: args}
}

// BadRequest returns an error shown as a 400 page.
func BadRequest(key string, args ...any) error {
	return &pageError{status: http.StatusBadRequest, key: key, args: args}
}

// refusedData is what the refused page shows.
type refusedData struct {
	// Need says which role or grant would allow it; Detail is the API's
	// own words.
	Need, Detail string
}

// Refused returns an error shown as the refused page (403) saying what
// is needed.
func Refused(need string) error { return &refusal{need: need} }

type refusal struct {
	need string
	err  error
}

func (e *refusal) Error() string {
	if e.err != nil {
		return "refused: " + e.need + ": " + e.err.Error()
	}
	return "refused: " + e.need
}

func (e *refusal) Unwrap() error { return e.err }

// RefusedBy wraps an API refusal with what role or grant would allow it.
func RefusedBy(err error, need string) error {
	if api.IsRefused(err) {
		return &refusal{need: need, err: err}
	}
	return err
}

// fail shows err once: as the refused page, a not-found or bad-request
// page, or a 500 page (logged).
func (s *Site) fail(w http.ResponseWriter, r *Request, err error) {
	var pe *pageError
	var rf *refusal
	switch {
	case errors.As(err, &pe):
		_ = s.RenderStatus(w, r, pe.status, "error.html", "error.title", errorData{Message: r.T(pe.key, pe.args...)})
	case errors.As(err, &rf):
		d := refusedData{Need: rf.need}
		if ae := api.AsError(rf.err); ae != nil {
			d.Detail = ae.Message
		}
		_ = s.RenderStatus(w, r, http.StatusForbidden, "refused.html", "refused.title", d)
	case api.IsRefused(err):
		_ = s.RenderStatus(w, r, http.StatusForbidden, "refused.html", "refused.title", refusedData{Detail: api.AsError(err).Message})
	case api.IsNotFound(err):
		_ = s.RenderStatus(w, r, http.StatusNotFound, "error.html", "error.title", errorData{Message: r.T("error.notfound")})
	default:
		s.Logger.ErrorContext(r.Context(), "page failed", "method", r.Method, "path", r.URL.Path, "err", err)
		_ = s.RenderStatus(w, r, http.StatusInternalServerError, "error.html", "error.title", errorData{Message: r.T("error.internal")})
	}
}

type errorData struct{ Message string }

// View is the data every page template gets: the layout's parts and the
// page's own Data.
type View struct {
	Lang      i18n.Lang
	Title     string
	Principal *auth.Principal
	CSRF      string
	Nav       []navLink
	// LangURL is this page in the other language.
	LangURL string
	Path    string
	Data    any
}

type navLink struct {
	Path, Label string
	Current     bool
}

// T returns the message key in the page's language.
func (v *View) T(key string, args ...any) string { return catalogue.T(v.Lang, key, args...) }

// Text returns a model text in the page's language.
func (v *View) Text(t model.Text) string { return Pick(v.Lang, t) }

// Render writes the page template name with data and status 200.
func (s *Site) Render(w http.ResponseWriter, r *Request, name, titleKey string, data any, titleArgs ...any) error {
	return s.RenderStatus(w, r, http.StatusOK, name, titleKey, data, titleArgs...)
}

// RenderStatus writes the page template name with data and status. The
// page is rendered into a buffer first, so a template failure never sends
// half a page.
func (s *Site) RenderStatus(w http.ResponseWriter, r *Request, status int, name, titleKey string, data any, titleArgs ...any) error {
	t, ok := s.pages[name]
	if !ok {
		s.Logger.Error("no such page template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return nil
	}
	v := &View{
		Lang:      r.Lang,
		Title:     r.T(titleKey, titleArgs...),
		Principal: r.Principal(),
		LangURL:   langURL(r.URL, r.Lang.Other()),
		Path:      r.URL.Path,
		Data:      data,
	}
	if r.Session != nil {
		v.CSRF = r.Session.CSRF
		for _, n := range s.nav {
			if n.Visible == nil || n.Visible(r.Session.Principal) {
				v.Nav = append(v.Nav, navLink{Path: n.Path, Label: r.T(n.Label),
					Current: r.URL.Path == n.Path || strings.HasPrefix(r.URL.Path, n.Path+"/")})
			}
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.Logger.Error("render page", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return nil
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// langURL returns u with lang set to l (for a GET page; other requests
// switch on the page they land on).
func langURL(u *url.URL, l i18n.Lang) string {
	q := u.Query()
	q.Set("lang", string(l))
	return u.Path + "?" + q.Encode()
}

// Redirect sends a POST's browser on to a GET page (303).
func Redirect(w http.ResponseWriter, r *Request, to string) error {
	http.Redirect(w, r.Request, to, http.StatusSeeOther)
	return nil
}

// secure reports whether cookies must be marked Secure for r.
func (s *Site) secure(r *http.Request) bool { return s.secureCookies || r.TLS != nil }

// setCookie sets c. Callers build every cookie HttpOnly, with a SameSite
// mode, and Secure as s.secure decides (TLS, or Config.SecureCookies), so
// that plain HTTP on localhost (samnav dev) works.
func setCookie(w http.ResponseWriter, c *http.Cookie) {
	http.SetCookie(w, c)
}
