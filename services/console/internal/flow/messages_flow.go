package flow

import (
	"github.com/samnav/samnav/services/console/internal/i18n"
	"github.com/samnav/samnav/services/console/internal/site"
)

// The live flow's messages.
var _ = site.Messages(map[string]i18n.Message{
	"nav.flow": {SV: "Live-flöde", EN: "Live flow"},

	"flow.title":           {SV: "Live-flöde", EN: "Live flow"},
	"flow.intro":           {SV: "Varje ändring registreras en gång, hos sin huvuddatakälla, och når sedan varje system som är godkänt att ta emot den – med bara de fält det får. Här syns de senaste ändringarna på väg ut.", EN: "Every change is recorded once, at its master source, and then reaches every system approved to receive it – with only the fields it may have. Here are the latest changes on their way out."},
	"flow.live":            {SV: "Listan uppdateras av sig själv var annan sekund.", EN: "The list updates itself every two seconds."},
	"flow.pause":           {SV: "Pausa uppdateringen", EN: "Pause updates"},
	"flow.resume":          {SV: "Uppdatera automatiskt", EN: "Update automatically"},
	"flow.paused":          {SV: "Uppdateringen är pausad.", EN: "Updates are paused."},
	"flow.refresh":         {SV: "Hämta de senaste", EN: "Fetch the latest"},
	"flow.updated":         {SV: "Hämtat %s", EN: "Fetched %s"},
	"flow.none":            {SV: "Inga leveranser ännu. Ändra en post i en huvuddatakälla som någon prenumererar på, så syns den här.", EN: "No deliveries yet. Change a record in a master source someone subscribes to, and it shows here."},
	"flow.refused":         {SV: "Din token får inte se några leveranser.", EN: "Your token may not see any deliveries."},
	"flow.list":            {SV: "Senaste ändringar", EN: "Latest changes"},
	"flow.change":          {SV: "%s %s", EN: "%s %s"},
	"flow.by":              {SV: "Av %s", EN: "By %s"},
	"flow.via":             {SV: "Av %s via %s", EN: "By %s through %s"},
	"flow.at":              {SV: "kl. %s", EN: "at %s"},
	"flow.changed":         {SV: "Ändrade fält: %s", EN: "Changed fields: %s"},
	"flow.reason":          {SV: "Skäl: %s", EN: "Reason: %s"},
	"flow.revision":        {SV: "version %d", EN: "revision %d"},
	"flow.unknown":         {SV: "Vem som ändrade syns för den som får läsa posten.", EN: "Who changed it shows to those who may read the record."},
	"flow.once":            {SV: "Registrerad en gång – lämnad till %d system", EN: "Recorded once – handed to %d systems"},
	"flow.to":              {SV: "Leveranser", EN: "Deliveries"},
	"flow.delivery":        {SV: "%s (%s): %s kl. %s", EN: "%s (%s): %s at %s"},
	"flow.state.delivered": {SV: "levererad", EN: "delivered"},
	"flow.state.queued":    {SV: "köad", EN: "queued"},
	"flow.state.failing":   {SV: "köad – ett leveransförsök misslyckades", EN: "queued – a delivery attempt failed"},
	"flow.state.handed":    {SV: "lämnad till kanalen", EN: "handed to the channel"},
	"flow.after":           {SV: "%d ms efter ändringen", EN: "%d ms after the change"},
	"flow.fields":          {SV: "fick: %s", EN: "received: %s"},
	"flow.fields.none":     {SV: "fick: bara postens id", EN: "received: only the record id"},
	"flow.channel.kafka":   {SV: "Kafka", EN: "Kafka"},
	"flow.channel.webhook": {SV: "webhook", EN: "webhook"},
	"flow.channel.feed":    {SV: "pull-flöde", EN: "pull feed"},
	"flow.op.changed":      {SV: "ändrad", EN: "changed"},
	"flow.op.ended":        {SV: "avslutad", EN: "ended"},
	"flow.op.erased":       {SV: "raderad", EN: "erased"},
	"flow.kind.created":    {SV: "skapad", EN: "created"},
	"flow.kind.updated":    {SV: "ändrad", EN: "changed"},
	"flow.kind.ended":      {SV: "avslutad", EN: "ended"},
	"flow.kind.erased":     {SV: "raderad", EN: "erased"},
	"flow.kind.resynced":   {SV: "publicerad på nytt", EN: "republished"},
})
