package console

// SessionCount is how many sessions s holds, for the sign-in tests.
func SessionCount(s *Server) int { return s.site.Sessions.Len() }

// StaticFS holds static/, for the colour contrast test.
var StaticFS = staticFS
