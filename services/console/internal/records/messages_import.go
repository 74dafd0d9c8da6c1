package records

import (
	"github.com/samnav/samnav/services/console/internal/i18n"
	"github.com/samnav/samnav/services/console/internal/site"
)

var _ = site.Messages(map[string]i18n.Message{
	"nav.import":               {SV: "Import", EN: "Import"},
	"import.title":             {SV: "Massimport från CSV", EN: "Bulk import from CSV"},
	"import.intro":             {SV: "Läs in många poster på en gång. Varje rad blir en ny post, prövad mot begreppsmodellen precis som i formulären. Rader som inte godtas listas med rad, fält och regel.", EN: "Load many records at once. Each row becomes a new record, checked against the concept model just like the forms. Rows that are not accepted are listed with row, field and rule."},
	"import.concept":           {SV: "Begrepp", EN: "Concept"},
	"import.file":              {SV: "CSV-fil", EN: "CSV file"},
	"import.file.help":         {SV: "Regler för filen:", EN: "Rules for the file:"},
	"import.rule.header":       {SV: "Första raden namnger attributen, t.ex. name,unitType,validFrom (se begreppskatalogen). Kommatecken eller semikolon skiljer cellerna åt.", EN: "The first row names the attributes, e.g. name,unitType,validFrom (see the concept catalogue). Commas or semicolons separate the cells."},
	"import.rule.nested":       {SV: "Attribut i en delpost skrivs med punkt: registeredAddress.postalCode.", EN: "Attributes of a nested record are written with a dot: registeredAddress.postalCode."},
	"import.rule.list":         {SV: "En lista med enkla värden har sina värden åtskilda med |.", EN: "A list of plain values has its values separated by |."},
	"import.rule.records":      {SV: "En lista med delposter skrivs med index: openingHours[0].dayOfWeek.", EN: "A list of records is written with an index: openingHours[0].dayOfWeek."},
	"import.rule.empty":        {SV: "Tomma celler utelämnas; koder anges med sin kod, datum som ÅÅÅÅ-MM-DD.", EN: "Empty cells are left out; codes are given by their code, dates as YYYY-MM-DD."},
	"import.reason.help":       {SV: "Skälet sparas i historiken för varje post, t.ex. ”inläsning från gamla enhetsregistret”.", EN: "The reason is kept in each record's history, e.g. “loaded from the old unit register”."},
	"import.start":             {SV: "Starta importen", EN: "Start the import"},
	"import.noconcepts":        {SV: "Din token ger inte behörighet att skapa poster i något begrepp som förvaltas i Samnav.", EN: "Your token does not allow creating records of any concept kept in Samnav."},
	"import.jobs":              {SV: "Dina importer", EN: "Your imports"},
	"import.started":           {SV: "Startad", EN: "Started"},
	"import.progress":          {SV: "Förlopp", EN: "Progress"},
	"import.counts":            {SV: "%d av %d rader behandlade: %d skapade, %d avvisade", EN: "%d of %d rows processed: %d created, %d rejected"},
	"import.job.title":         {SV: "Import av %s", EN: "Import of %s"},
	"import.done":              {SV: "Importen är klar.", EN: "The import is finished."},
	"import.refresh":           {SV: "Uppdatera förloppet", EN: "Refresh the progress"},
	"import.back":              {SV: "Tillbaka till import", EN: "Back to import"},
	"import.rejected":          {SV: "Avvisade rader", EN: "Rejected rows"},
	"import.rejected.download": {SV: "Ladda ner avvisade rader som CSV", EN: "Download the rejected rows as CSV"},
	"import.row":               {SV: "Rad", EN: "Row"},
	"import.field":             {SV: "Fält", EN: "Field"},
	"import.rule":              {SV: "Regel", EN: "Rule"},
	"import.message":           {SV: "Meddelande", EN: "Message"},
	"import.unknown":           {SV: "Importen finns inte, eller startades av någon annan.", EN: "The import does not exist, or someone else started it."},
	"import.error.concept":     {SV: "Välj ett begrepp.", EN: "Choose a concept."},
	"import.error.nofile":      {SV: "Välj en CSV-fil.", EN: "Choose a CSV file."},
	"import.error.size":        {SV: "Filen är större än %d MB.", EN: "The file is larger than %d MB."},
	"import.failure.refused":   {SV: "Importen avbröts: tjänsten nekade din token (behörigheten kan ha dragits in eller token gått ut). Resterande rader lästes inte in.", EN: "The import stopped: the service refused your token (the grant may have been withdrawn or the token expired). The remaining rows were not loaded."},
	"import.cancel":            {SV: "Avbryt importen", EN: "Cancel the import"},
	"import.failure.cancelled": {SV: "Importen avbröts på din begäran. Rader efter den sista behandlade lästes inte in.", EN: "The import was cancelled at your request. Rows after the last one processed were not loaded."},
	"import.failure.stopped":   {SV: "Importen avbröts när konsolen stängdes. Resterande rader lästes inte in.", EN: "The import stopped when the console shut down. The remaining rows were not loaded."},
})
