package subscriptions

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/site"
)

// A webhook subscription's endpoint page: its state, each message's state
// and the delivery log, with redelivery and enable / disable.

type subWebhookMessageRow struct {
	api.WebhookMessage
	StateLabel string
}

type subWebhookData struct {
	Sub         subRow
	Endpoint    *api.WebhookEndpoint
	StatusLabel string
	Attempts    []api.WebhookAttempt
	Messages    []subWebhookMessageRow
	Notice      string
}

// subWebhookLogSize is how many attempts the log shows, and so at most how
// many messages (one look-up each).
const subWebhookLogSize = 50

func (s *pages) subscriptionWebhookPage(w http.ResponseWriter, r *site.Request) error {
	id := r.PathValue("id")
	sub, err := s.API.GetSubscription(r.Context(), r.Token(), id)
	if err != nil {
		return site.RefusedBy(err, r.T("subscriptions.need"))
	}
	if sub.Channel != "webhook" {
		return site.NotFound("subscriptions.webhook.notwebhook")
	}
	d := subWebhookData{Sub: s.subRowOf(r, *sub)}
	ep, err := s.API.Webhook(r.Context(), r.Token(), id)
	switch {
	case api.IsStatus(err, http.StatusNotFound):
		return s.Render(w, r, "subscriptions_webhook.html", "subscriptions.webhook.title", d, d.Sub.SystemLabel.Name)
	case err != nil:
		return site.RefusedBy(err, r.T("subscriptions.need.webhook"))
	}
	d.Endpoint, d.StatusLabel = ep, r.T("subscriptions.webhook.status."+ep.Status)
	if d.Attempts, err = s.API.WebhookAttempts(r.Context(), r.Token(), id, subWebhookLogSize); err != nil {
		return site.RefusedBy(err, r.T("subscriptions.need.webhook"))
	}
	seen := map[int64]bool{}
	for _, a := range d.Attempts {
		if seen[a.MessageID] {
			continue
		}
		seen[a.MessageID] = true
		m, err := s.API.WebhookMessage(r.Context(), r.Token(), id, a.MessageID)
		if err != nil {
			return site.RefusedBy(err, r.T("subscriptions.need.webhook"))
		}
		d.Messages = append(d.Messages, subWebhookMessageRow{WebhookMessage: *m, StateLabel: r.T("subscriptions.webhook.state." + m.State)})
	}
	q := r.URL.Query()
	if n, err := strconv.ParseInt(q.Get("redelivered"), 10, 64); err == nil {
		d.Notice = r.T("subscriptions.webhook.redelivered", n)
	} else if st := q.Get("status"); st == "enabled" || st == "disabled" {
		d.Notice = r.T("subscriptions.webhook." + st)
	}
	return s.Render(w, r, "subscriptions_webhook.html", "subscriptions.webhook.title", d, d.Sub.SystemLabel.Name)
}

func (s *pages) subscriptionRedeliver(w http.ResponseWriter, r *site.Request) error {
	id := r.PathValue("id")
	msg, err := strconv.ParseInt(r.PathValue("msg"), 10, 64)
	if err != nil || msg <= 0 {
		return site.BadRequest("subscriptions.webhook.badmsg")
	}
	if err := s.API.RedeliverWebhook(r.Context(), r.Token(), id, msg); err != nil {
		return site.RefusedBy(err, r.T("subscriptions.need.webhook"))
	}
	return site.Redirect(w, r, fmt.Sprintf("/subscriptions/%s/webhook?redelivered=%d", url.PathEscape(id), msg))
}

func (s *pages) subscriptionWebhookStatus(w http.ResponseWriter, r *site.Request) error {
	id, action := r.PathValue("id"), r.PathValue("action")
	if action != "enable" && action != "disable" {
		return site.NotFound("error.notfound")
	}
	if err := s.API.SetWebhookEnabled(r.Context(), r.Token(), id, action == "enable"); err != nil {
		return site.RefusedBy(err, r.T("subscriptions.need.webhook"))
	}
	return site.Redirect(w, r, "/subscriptions/"+url.PathEscape(id)+"/webhook?status="+action+"d")
}
