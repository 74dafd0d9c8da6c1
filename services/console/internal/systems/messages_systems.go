package systems

import "github.com/samnav/samnav/services/console/internal/site"

// The system map's messages.
var _ = site.Messages(map[string]site.Message{
	"nav.systems": {SV: "Systemkarta", EN: "System map"},

	"systems.title":          {SV: "Systemkarta", EN: "System map"},
	"systems.intro":          {SV: "Varje system, vad det är huvuddatakälla för och vad det tar emot genom navet, med systemets ägare. Pilarna går från huvuddatakällan via Samnav till varje godkänd prenumerant.", EN: "Every system, what it is the master source of and what it receives through the hub, with the system's owner. The arrows run from the master source through Samnav to every approved subscriber."},
	"systems.partial":        {SV: "Din token får inte läsa alla prenumerationer: kartan visar huvuddatakällorna och de prenumerationer du får se.", EN: "Your token may not read every subscription: the map shows the master sources and the subscriptions you may see."},
	"systems.graph.label":    {SV: "Systemkarta som graf. Samma uppgifter finns i tabellerna nedanför.", EN: "System map as a graph. The tables below hold the same information."},
	"systems.graph.summary":  {SV: "%d system: %d huvuddatakällor utanför navet och %d mottagande system.", EN: "%d systems: %d master sources outside the hub and %d receiving systems."},
	"systems.graph.nojs":     {SV: "Grafen ritas med JavaScript. Tabellerna nedanför visar samma karta.", EN: "The graph is drawn with JavaScript. The tables below show the same map."},
	"systems.graph.legend":   {SV: "Vänster: huvuddatakällor. Mitten: Samnav. Höger: mottagande system. Varje ruta visar systemets ägare.", EN: "Left: master sources. Middle: Samnav. Right: receiving systems. Each box shows the system's owner."},
	"systems.table.systems":  {SV: "System och ägare", EN: "Systems and owners"},
	"systems.table.flows":    {SV: "Flöden", EN: "Flows"},
	"systems.col.system":     {SV: "System", EN: "System"},
	"systems.col.owner":      {SV: "Ägare (nämnd / förvaltning)", EN: "Owner (committee / administration)"},
	"systems.col.contact":    {SV: "Kontakt", EN: "Contact"},
	"systems.col.masters":    {SV: "Huvuddatakälla för", EN: "Master source of"},
	"systems.col.receives":   {SV: "Tar emot", EN: "Receives"},
	"systems.col.from":       {SV: "Från", EN: "From"},
	"systems.col.to":         {SV: "Till", EN: "To"},
	"systems.col.concept":    {SV: "Begrepp", EN: "Concept"},
	"systems.col.channel":    {SV: "Kanal", EN: "Channel"},
	"systems.channel.master": {SV: "publicerar som huvuddatakälla", EN: "publishes as master source"},
	"systems.unknown":        {SV: "finns inte i systemkatalogen", EN: "not in the systems catalogue"},
	"systems.hub":            {SV: "navet", EN: "the hub"},
	"systems.none":           {SV: "–", EN: "–"},
	"systems.receives.item":  {SV: "%s (%s)", EN: "%s (%s)"},
})
