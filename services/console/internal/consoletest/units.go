package consoletest

import _ "embed" // UnitsCSV

// UnitsCSV is an import file of units: one good row, three rejected (an
// unknown code, an unreadable number, a malformed time) and an empty row;
// the records package's fuzz test seeds with it too.
//
//go:embed testdata/units.csv
var UnitsCSV string
