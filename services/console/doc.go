// Package console is Samnav's web console: the server-rendered pages where
// data stewards, system integrators and information owners see and steer
// the hub. It holds no data of its own: every page reads and writes through
// the services' APIs with the signed-in person's own token, so the roles
// and grants the APIs enforce are the ones every page respects.
package console
