package site

import "github.com/samnav/samnav/services/console/internal/i18n"

// The layout's, sign-in's and error pages' messages.
var _ = Messages(map[string]i18n.Message{
	"app.name":        {SV: "Samnav", EN: "Samnav"},
	"app.tagline":     {SV: "Stadens gemensamma informationsnav", EN: "The city's shared data hub"},
	"layout.skip":     {SV: "Hoppa till innehållet", EN: "Skip to content"},
	"layout.nav":      {SV: "Huvudmeny", EN: "Main menu"},
	"layout.lang":     {SV: "In English", EN: "På svenska"},
	"layout.signedin": {SV: "Inloggad som %s", EN: "Signed in as %s"},
	"layout.signout":  {SV: "Logga ut", EN: "Sign out"},
	"layout.signin":   {SV: "Logga in", EN: "Sign in"},
	"layout.footer":   {SV: "Samnav – information som lämnats en gång ska inte behöva lämnas igen.", EN: "Samnav – information given once should never be asked for again."},
	"nav.home":        {SV: "Start", EN: "Home"},

	"home.title":   {SV: "Välkommen", EN: "Welcome"},
	"home.hello":   {SV: "Hej %s!", EN: "Hello %s!"},
	"home.roles":   {SV: "Dina roller", EN: "Your roles"},
	"home.noroles": {SV: "Din token har inga roller.", EN: "Your token has no roles."},
	"home.what":    {SV: "Det här kan du göra", EN: "What you can do"},

	"role.admin":      {SV: "Administratör", EN: "Administrator"},
	"role.steward":    {SV: "Informationsförvaltare", EN: "Data steward"},
	"role.publisher":  {SV: "Publicerande källsystem", EN: "Publishing master system"},
	"role.auditor":    {SV: "Granskare", EN: "Auditor"},
	"role.owner":      {SV: "Informationsägare", EN: "Information owner"},
	"role.subscriber": {SV: "Prenumererande system", EN: "Subscribing system"},

	"signin.title":          {SV: "Logga in", EN: "Sign in"},
	"signin.intro":          {SV: "Logga in med din API-token. Konsolen gör allt med dina egna behörigheter.", EN: "Sign in with your API token. The console does everything with your own permissions."},
	"signin.token":          {SV: "API-token", EN: "API token"},
	"signin.token.help":     {SV: "Börjar med snv_. Du får den av en administratör.", EN: "Starts with snv_. An administrator gives it to you."},
	"signin.submit":         {SV: "Logga in", EN: "Sign in"},
	"signin.error.required": {SV: "Ange din API-token.", EN: "Enter your API token."},
	"signin.error.invalid":  {SV: "Token godtogs inte: den är okänd, felskriven, spärrad eller har gått ut.", EN: "The token was not accepted: it is unknown, mistyped, revoked or expired."},

	"signin.error.unavailable": {SV: "Token kunde inte kontrolleras just nu. Försök igen om en stund.", EN: "The token could not be checked just now. Try again in a while."},
	"form.errors":              {SV: "Formuläret har %d fel", EN: "The form has %d errors"},
	"form.required":            {SV: "obligatorisk", EN: "required"},
	"form.cancel":              {SV: "Avbryt", EN: "Cancel"},
	"error.title":              {SV: "Något gick fel", EN: "Something went wrong"},
	"error.notfound":           {SV: "Sidan eller posten finns inte.", EN: "The page or record does not exist."},
	"error.internal":           {SV: "Ett internt fel inträffade. Försök igen om en stund; kvarstår felet, kontakta förvaltningen.", EN: "An internal error occurred. Try again in a while; if it persists, contact the administrators."},
	"error.csrf":               {SV: "Formuläret kunde inte skickas: dess säkerhetsnyckel saknas eller är fel. Ladda om sidan och försök igen.", EN: "The form could not be sent: its security token is missing or wrong. Reload the page and try again."},
	"error.signedout":          {SV: "Du är inte inloggad, eller din session har gått ut. Logga in igen.", EN: "You are not signed in, or your session has expired. Sign in again."},
	"error.back":               {SV: "Till startsidan", EN: "Back to the home page"},

	"refused.title":  {SV: "Åtkomst nekad", EN: "Access refused"},
	"refused.intro":  {SV: "Din token ger inte behörighet till det här.", EN: "Your token does not allow this."},
	"refused.need":   {SV: "Det som krävs: %s", EN: "What is needed: %s"},
	"refused.detail": {SV: "Tjänstens svar: %s", EN: "The service said: %s"},
	"refused.ask":    {SV: "Be en administratör om en token med rätt roll om du behöver göra detta.", EN: "Ask an administrator for a token with the right role if you need to do this."},
})
