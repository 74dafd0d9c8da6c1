// Package browsertest drives Debian's headless Chromium from Go tests, for
// the console's end-to-end tests: sign in, fill and submit forms, read what
// a page shows, walk it with the keyboard, check it with axe-core, and take
// screenshots for the docs. README.md in this directory shows how.
//
// A package's tests share one browser (Main and Shared) and each test opens
// its own Page, a tab with cookies of its own. Chromium missing skips the
// tests, except under CI (CI=true), where it fails them.
package browsertest
