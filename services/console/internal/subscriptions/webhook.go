package subscriptions

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	delivery "github.com/samnav/samnav/services/delivery/client"

	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/site"
)

// A webhook subscription's endpoint page: its state, each message's state
// and the delivery log, with redelivery and enable / disable.

type subWebhookMessageRow struct {
	delivery.Message
	StateLabel string
}

type subWebhookData struct {
	Sub         subRow
	Endpoint    *delivery.Endpoint
	StatusLabel string
	Attempts    []delivery.Attempt
	Messages    []subWebhookMessageRow
	Notice      string
}

// subWebhookLogSize is how many attempts the log shows, and so at most how
// many messages (one look-up each).
const subWebhookLogSize = 50

func (s *pages) subscriptionWebhookPage(w http.ResponseWriter, r *site.Request) error {
	id := r.PathValue("id")
	sub, err := s.API.Delivery(r.Token()).Get(r.Context(), id)
	if err != nil {
		return site.RefusedBy(err, r.T("subscriptions.need"))
	}
	if sub.Channel != "webhook" {
		return site.NotFound("subscriptions.webhook.notwebhook")
	}
	d := subWebhookData{Sub: s.subRowOf(r, *sub)}
	ep, err := s.API.Delivery(r.Token()).Webhook(r.Context(), id)
	switch {
	case api.IsNotFound(err):
		return s.Render(w, r, "subscriptions_webhook.html", "subscriptions.webhook.title", d, d.Sub.SystemLabel.Name)
	case err != nil:
		return site.RefusedBy(err, r.T("subscriptions.need.webhook"))
	}
	d.Endpoint, d.StatusLabel = ep, r.T("subscriptions.webhook.status."+ep.Status)
	if d.Attempts, err = s.API.Delivery(r.Token()).WebhookAttempts(r.Context(), id, delivery.AttemptFilter{Limit: subWebhookLogSize}); err != nil {
		return site.RefusedBy(err, r.T("subscriptions.need.webhook"))
	}
	seen := map[int64]bool{}
	for _, a := range d.Attempts {
		if seen[a.MessageID] {
			continue
		}
		seen[a.MessageID] = true
		m, err := s.API.Delivery(r.Token()).WebhookMessage(r.Context(), id, a.MessageID)
		if err != nil {
			return site.RefusedBy(err, r.T("subscriptions.need.webhook"))
		}
		d.Messages = append(d.Messages, subWebhookMessageRow{Message: *m, StateLabel: r.T("subscriptions.webhook.state." + m.State)})
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
	if _, err := s.API.Delivery(r.Token()).Redeliver(r.Context(), id, msg); err != nil {
		return site.RefusedBy(err, r.T("subscriptions.need.webhook"))
	}
	return site.Redirect(w, r, fmt.Sprintf("/subscriptions/%s/webhook?redelivered=%d", url.PathEscape(id), msg))
}

func (s *pages) subscriptionWebhookStatus(w http.ResponseWriter, r *site.Request) error {
	id, action := r.PathValue("id"), r.PathValue("action")
	if action != "enable" && action != "disable" {
		return site.NotFound("error.notfound")
	}
	dl := s.API.Delivery(r.Token())
	setStatus := dl.DisableWebhook
	if action == "enable" {
		setStatus = dl.EnableWebhook
	}
	if _, err := setStatus(r.Context(), id); err != nil {
		return site.RefusedBy(err, r.T("subscriptions.need.webhook"))
	}
	return site.Redirect(w, r, "/subscriptions/"+url.PathEscape(id)+"/webhook?status="+action+"d")
}
