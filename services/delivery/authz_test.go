package delivery_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/httproute"
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/hubtest"
)

// The authorisation table of the delivery API: every route the server
// mounts (read from its router, so a route added without a row fails the
// test) × every role × a subscription of the role's own system and one
// of another system's → the status, and for reads the fields shown.
//
// The roles, in column order. "Own" objects belong to the system
// bibliotek, which sub-approved speaks for; "another's" to hemtjanst,
// which no role speaks for.
var dlAuthzRoles = []string{
	"admin",         // admin grant
	"steward",       // steward of person, the subscriptions' concept
	"steward-unit",  // steward of unit: of another concept
	"publisher",     // folkbokföringen, person's master system
	"publisher-hr",  // the HR system, master of another concept
	"auditor",       // auditor
	"owner",         // information owner of person: decides its subscriptions
	"sub-approved",  // bibliotek, whose subscriptions are approved (token subject bibliotek-app)
	"sub-requested", // skolplattform, whose own subscription waits for approval
	"sub-named",     // a token whose subject is "hemtjanst" but whose grant speaks for skolplattform
	"anonymous",     // no token
	"expired",       // an expired token
	"revoked",       // a revoked token
}

// dlAuthzRow is one route: the status each role gets on its own system's
// subscription and on another's, in dlAuthzRoles order. On the listing
// routes (subscriptions, recent deliveries) "200" means the object is in
// the answer and "200-" that it is not.
type dlAuthzRow struct{ own, other string }

const (
	//               adm  stw  stu  pub  phr  aud  own  sua  sur  snm  non exp rev
	dlEveryone   = "200  200  200  200  200  200  200  200  200  200  200 401 401"
	dlRequestOwn = "201  403  403  403  403  403  403  201  403  403  401 401 401"
	dlRequestAny = "201  403  403  403  403  403  403  403  403  403  401 401 401"
	dlListOwn    = "200  200  200- 200- 200- 200  200  200  200- 200- 401 401 401"
	dlListOther  = "200  200  200- 200- 200- 200  200  200- 200- 200- 401 401 401"
	dlReadOwn    = "200  200  404  404  404  200  200  200  404  404  401 401 401"
	dlReadOther  = "200  200  404  404  404  200  200  404  404  404  401 401 401"
	dlDecide     = "200  403  404  404  404  403  200  %s  404  404  401 401 401"
	dlManageOwn  = "%d  403  404  404  404  403  403  %[1]d  404  404  401 401 401"
	dlManageAny  = "%d  403  404  404  404  403  403  404  404  404  401 401 401"
	dlFeedOwn    = "403  403  404  404  404  403  403  200  404  404  401 401 401"
	dlFeedOther  = "403  403  404  404  404  403  403  404  404  404  401 401 401"
	dlRecentOwn  = "200  200  200- 200- 200- 200  200  200  200- 200- 401 401 401"
	dlRecentAny  = "200  200  200- 200- 200- 200  200  200- 200- 200- 401 401 401"
)

func manage(status int) dlAuthzRow {
	return dlAuthzRow{fmt.Sprintf(dlManageOwn, status), fmt.Sprintf(dlManageAny, status)}
}

var dlAuthzTable = map[string]dlAuthzRow{
	"GET " + openapi.Path:                     {dlEveryone, dlEveryone},
	"POST /api/v1/subscriptions":              {dlRequestOwn, dlRequestAny},
	"GET /api/v1/subscriptions":               {dlListOwn, dlListOther},
	"GET /api/v1/subscriptions/{id}":          {dlReadOwn, dlReadOther},
	"GET /api/v1/subscriptions/{id}/history":  {dlReadOwn, dlReadOther},
	"GET /api/v1/subscriptions/{id}/acls":     {dlReadOwn, dlReadOther},
	"GET /api/v1/subscriptions/{id}/lag":      {dlReadOwn, dlReadOther},
	"POST /api/v1/subscriptions/{id}/approve": {fmt.Sprintf(dlDecide, "403"), fmt.Sprintf(dlDecide, "404")},
	"POST /api/v1/subscriptions/{id}/reject":  {fmt.Sprintf(dlDecide, "403"), fmt.Sprintf(dlDecide, "404")},
	// The subscribing system may give up its own subscription.
	"POST /api/v1/subscriptions/{id}/revoke":                           {fmt.Sprintf(dlDecide, "200"), fmt.Sprintf(dlDecide, "404")},
	"PUT /api/v1/subscriptions/{id}/webhook":                           manage(200),
	"GET /api/v1/subscriptions/{id}/webhook":                           manage(200),
	"POST /api/v1/subscriptions/{id}/webhook/rotate":                   manage(200),
	"POST /api/v1/subscriptions/{id}/webhook/enable":                   manage(200),
	"POST /api/v1/subscriptions/{id}/webhook/disable":                  manage(200),
	"GET /api/v1/subscriptions/{id}/webhook/attempts":                  manage(200),
	"GET /api/v1/subscriptions/{id}/webhook/messages/{msg}":            manage(200),
	"POST /api/v1/subscriptions/{id}/webhook/messages/{msg}/redeliver": manage(202),
	"GET /api/v1/feeds/{subscription}/snapshot":                        {dlFeedOwn, dlFeedOther},
	"GET /api/v1/feeds/{subscription}/changes":                         {dlFeedOwn, dlFeedOther},
	"GET /api/v1/deliveries/recent":                                    {dlRecentOwn, dlRecentAny},
}

// dlReadKeys are, per read route, the keys its answer must hold and
// those it must never hold (a signing secret outside the answer that
// makes one, a message's stored body).
var dlReadKeys = map[string]struct{ want, deny []string }{
	"GET /api/v1/subscriptions/{id}":                                   {[]string{"id", "system", "concept", "status", "requestedFields"}, nil},
	"GET /api/v1/subscriptions/{id}/history":                           {[]string{"changes"}, nil},
	"GET /api/v1/subscriptions/{id}/acls":                              {[]string{"topic", "acls", "commands"}, nil},
	"GET /api/v1/subscriptions/{id}/lag":                               {[]string{"subscription", "status", "channels"}, nil},
	"GET /api/v1/subscriptions/{id}/webhook":                           {[]string{"subscriptionId", "url", "status"}, []string{"secret", "secrets"}},
	"PUT /api/v1/subscriptions/{id}/webhook":                           {[]string{"subscriptionId", "url"}, []string{"secret", "secrets"}},
	"POST /api/v1/subscriptions/{id}/webhook/enable":                   {[]string{"subscriptionId", "status"}, []string{"secret", "secrets"}},
	"POST /api/v1/subscriptions/{id}/webhook/disable":                  {[]string{"subscriptionId", "status"}, []string{"secret", "secrets"}},
	"POST /api/v1/subscriptions/{id}/webhook/rotate":                   {[]string{"secret", "oldUntil"}, []string{"secrets"}},
	"GET /api/v1/subscriptions/{id}/webhook/attempts":                  {[]string{"attempts"}, nil},
	"GET /api/v1/subscriptions/{id}/webhook/messages/{msg}":            {[]string{"id", "subscriptionId", "state"}, []string{"body", "data", "source"}},
	"POST /api/v1/subscriptions/{id}/webhook/messages/{msg}/redeliver": {[]string{"id", "subscriptionId", "state"}, []string{"body", "data", "source"}},
	"GET /api/v1/feeds/{subscription}/snapshot":                        {[]string{"items", "changesCursor"}, nil},
	"GET /api/v1/feeds/{subscription}/changes":                         {[]string{"items", "nextCursor"}, nil},
}

// dlObject is one system's subscriptions, one per channel, and what
// lives under them.
type dlObject struct {
	system               string
	feed, webhook, kafka string // feed and webhook approved, kafka requested
	message              int64  // a queued webhook message of webhook
	cursor               string // a changes cursor of feed
}

type dlAuthz struct {
	h       *hubtest.Hub
	tokens  map[string]string
	admin   string
	objects map[string]*dlObject // "own", "other"
	hook    string
}

var dlRequestBody = client.Request{Concept: "person", Purpose: "library cards",
	LegalBasis: client.LegalBasis{Basis: client.BasisPublicTask, Reference: "Bibliotekslagen (2013:801)"}, Fields: []string{"givenNames", "surname"}}

func TestAuthorisationTable(t *testing.T) {
	h := hubtest.Start(t, hubtest.WithBroker(embeddedkafka.Config{Topics: []kafkatopics.Spec{{Name: "samnav.person.v1", Partitions: 1, Compact: true}}}),
		hubtest.WithDelivery())
	tokens := h.Delivery.Tokens()
	issue := func(name string, kind auth.Kind, grants ...auth.Grant) string {
		return hubtest.Issue(t, tokens, name, kind, grants...)
	}
	sub := func(subject, system string) string {
		return issue(subject, auth.KindSystem, auth.Grant{Role: auth.RoleSubscriber, System: system})
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(hook.Close)
	a := &dlAuthz{h: h, admin: issue("admin", auth.KindUser, auth.Grant{Role: auth.RoleAdmin}), hook: hook.URL + "/hook"}
	a.tokens = map[string]string{
		"admin":         a.admin,
		"steward":       issue("steward", auth.KindUser, auth.Grant{Role: auth.RoleSteward, Concepts: []string{"person"}}),
		"steward-unit":  issue("steward-unit", auth.KindUser, auth.Grant{Role: auth.RoleSteward, Concepts: []string{"unit"}}),
		"publisher":     issue("folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"}),
		"publisher-hr":  issue("hr", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "hr-system"}),
		"auditor":       issue("auditor", auth.KindUser, auth.Grant{Role: auth.RoleAuditor}),
		"owner":         issue("owner", auth.KindUser, auth.Grant{Role: auth.RoleOwner, Concepts: []string{"person"}}),
		"sub-approved":  sub("bibliotek-app", "bibliotek"),
		"sub-requested": sub("skolplattform", "skolplattform"),
		"sub-named":     sub("hemtjanst", "skolplattform"),
		"anonymous":     "",
		"expired": hubtest.ExpiredToken(t, tokens, func(secret string) bool {
			return hubtest.Call(t, "GET", h.DeliveryURL+"/api/v1/subscriptions", secret, nil).Status == 401
		}),
		"revoked": hubtest.RevokedToken(t, tokens),
	}
	a.request(t, "skolplattform", client.ChannelFeed) // sub-requested's own, never approved
	a.objects = map[string]*dlObject{
		"own":   a.object(t, "bibliotek", sub("bibliotek-setup", "bibliotek")),
		"other": a.object(t, "hemtjanst", sub("hemtjanst-setup", "hemtjanst")),
	}

	hubtest.EachRoute(t, h.Delivery.Handler(), dlAuthzTable, func(t *testing.T, r httproute.Route, row dlAuthzRow) {
		for _, obj := range []string{"own", "other"} {
			want := map[string]string{"own": row.own, "other": row.other}[obj]
			hubtest.EachRole(t, obj+"/", want, dlAuthzRoles, func(t *testing.T, role, status string) {
				a.check(t, r, a.objects[obj], role, status)
			})
		}
	})

	// Two ids in one path: a message of another system's subscription
	// is not reached through one's own.
	own, other := a.objects["own"], a.objects["other"]
	for _, method := range []string{"GET", "POST"} {
		path := fmt.Sprintf("/api/v1/subscriptions/%s/webhook/messages/%d", own.webhook, other.message)
		if method == "POST" {
			path += "/redeliver"
		}
		if r := hubtest.Call(t, method, h.DeliveryURL+path, a.tokens["sub-approved"], nil); r.Status != 404 {
			t.Errorf("%s another system's message through one's own subscription: %d %s, want 404", method, r.Status, r.Raw)
		}
	}
}

// request asks, as the admin, for a subscription of system to person
// over ch and returns its id.
func (a *dlAuthz) request(t *testing.T, system string, ch client.ChannelKind) string {
	t.Helper()
	req := dlRequestBody
	req.System, req.Channel = system, ch
	s, err := a.h.DeliveryClient(a.admin).Request(t.Context(), req)
	if err != nil {
		t.Fatalf("request a subscription for %s: %v", system, err)
	}
	return s.ID
}

// object makes system's subscriptions, as the admin, and what lives
// under them: a webhook endpoint with one queued message, a feed cursor
// (read with token, the system's own), a delivery in the recent window.
func (a *dlAuthz) object(t *testing.T, system, token string) *dlObject {
	t.Helper()
	ctx := t.Context()
	admin := a.h.DeliveryClient(a.admin)
	o := &dlObject{system: system, feed: a.request(t, system, client.ChannelFeed), webhook: a.request(t, system, client.ChannelWebhook),
		kafka: a.request(t, system, client.ChannelKafka)}
	var hookSub client.Subscription
	for _, id := range []string{o.feed, o.webhook} {
		s, err := admin.Approve(ctx, id, client.Decision{Reason: "authorisation table"})
		if err != nil {
			t.Fatalf("approve %s: %v", id, err)
		}
		if id == o.webhook {
			hookSub = *s
		}
	}
	if r := hubtest.Call(t, "PUT", a.h.DeliveryURL+"/api/v1/subscriptions/"+o.webhook+"/webhook", a.admin, map[string]any{"url": a.hook}); r.Status != 201 {
		t.Fatalf("register the webhook of %s: %d %s", system, r.Status, r.Raw)
	}
	ev := channel.Event{SubscriptionID: o.webhook, System: system, Concept: "person", Key: "rec-" + system, EventID: "evt-" + system,
		Type: channel.TypeChanged, Time: time.Now(), Revision: 1,
		State: map[string]any{"id": "rec-" + system, "givenNames": "Astrid"}, Source: map[string]any{"id": "rec-" + system, "givenNames": "Astrid"}}
	if err := a.h.Delivery.Webhook().Deliver(ctx, hookSub, ev); err != nil {
		t.Fatalf("queue a message for %s: %v", system, err)
	}
	o.message = a.messageOf(t, o.webhook)
	a.h.Delivery.Recent().Add(client.Delivery{Subscription: o.feed, System: system, Concept: "person", Channel: string(client.ChannelFeed),
		RecordID: "rec-" + system, EventID: "evt-feed-" + system, Operation: "changed", Revision: 1, ChangedAt: time.Now()})
	r := hubtest.Call(t, "GET", a.h.DeliveryURL+"/api/v1/feeds/"+o.feed+"/snapshot", token, nil)
	cur, _ := r.Body["changesCursor"].(string)
	if r.Status != 200 || cur == "" {
		t.Fatalf("read the feed of %s as itself: %d %s", system, r.Status, r.Raw)
	}
	o.cursor = cur
	return o
}

// messageOf finds the id of the one message queued for subscription id
// (ids count up across subscriptions), as the admin reads it.
func (a *dlAuthz) messageOf(t *testing.T, id string) int64 {
	t.Helper()
	for n := int64(1); n <= 10; n++ {
		if r := hubtest.Call(t, "GET", fmt.Sprintf("%s/api/v1/subscriptions/%s/webhook/messages/%d", a.h.DeliveryURL, id, n), a.admin, nil); r.Status == 200 {
			return n
		}
	}
	t.Fatalf("no message queued for %s", id)
	return 0
}

// check calls route as role on obj's subscriptions and compares the
// status, and for a read the fields shown, with want.
func (a *dlAuthz) check(t *testing.T, route httproute.Route, obj *dlObject, role, want string) {
	id := obj.feed
	switch {
	case strings.HasSuffix(route.Path, "/acls"):
		id = obj.kafka
	case strings.Contains(route.Path, "/webhook"):
		id = obj.webhook
	case strings.HasSuffix(route.Path, "/approve"), strings.HasSuffix(route.Path, "/reject"), strings.HasSuffix(route.Path, "/revoke"):
		// A decision changes its subscription: each cell decides a
		// fresh request.
		id = a.request(t, obj.system, client.ChannelFeed)
	}
	path := strings.NewReplacer("{id}", id, "{subscription}", id, "{msg}", fmt.Sprint(obj.message)).Replace(route.Path)
	method := route.Method
	var body any
	switch route.String() {
	case "POST /api/v1/subscriptions":
		req := dlRequestBody
		req.System, req.Channel = obj.system, client.ChannelFeed
		body = req
	case "GET /api/v1/subscriptions":
		path += "?limit=1000&system=" + obj.system
	case "GET /api/v1/feeds/{subscription}/changes":
		path += "?cursor=" + obj.cursor
	case "POST /api/v1/subscriptions/{id}/approve", "POST /api/v1/subscriptions/{id}/reject", "POST /api/v1/subscriptions/{id}/revoke":
		body = map[string]any{"reason": "authorisation table"}
	case "PUT /api/v1/subscriptions/{id}/webhook":
		body = map[string]any{"url": a.hook}
	}
	var header []string
	if body != nil {
		header = []string{"Content-Type", "application/json"}
	}
	r := hubtest.Call(t, method, a.h.DeliveryURL+path, a.tokens[role], body, header...)
	wantStatus, hidden := strings.CutSuffix(want, "-")
	if got := fmt.Sprint(r.Status); got != wantStatus {
		t.Fatalf("%s %s as %s: %s %s, want %s", method, route.Path, role, got, r.Raw, wantStatus)
	}
	if r.Status >= 300 {
		// A refusal names neither the subscription's system nor, to
		// whoever may not read it, anything of it.
		if r.Status == 404 && strings.Contains(string(r.Raw), obj.system) {
			t.Errorf("%s %s as %s: the refusal names the system: %s", method, route.Path, role, r.Raw)
		}
		return
	}
	switch route.String() {
	case "GET /api/v1/subscriptions":
		a.checkListed(t, r, "subscriptions", "id", obj.feed, !hidden)
	case "GET /api/v1/deliveries/recent":
		a.checkListed(t, r, "deliveries", "subscription", obj.feed, !hidden)
	}
	keys, ok := dlReadKeys[route.String()]
	if !ok {
		return
	}
	for _, k := range keys.want {
		if _, ok := r.Body[k]; !ok {
			t.Errorf("%s %s as %s: the answer has no %q: %s", method, route.Path, role, k, r.Raw)
		}
	}
	for _, k := range keys.deny {
		if _, ok := r.Body[k]; ok {
			t.Errorf("%s %s as %s: the answer shows %q: %s", method, route.Path, role, k, r.Raw)
		}
	}
	// Whoever reads a subscription reads its own or one it may see,
	// never another.
	if sid, ok := r.Body["subscriptionId"].(string); ok && sid != id {
		t.Errorf("%s %s as %s: the answer is about %s, not %s", method, route.Path, role, sid, id)
	}
}

// checkListed checks that the list under key in r holds an item whose
// field is id exactly when shown.
func (a *dlAuthz) checkListed(t *testing.T, r hubtest.Response, key, field, id string, shown bool) {
	t.Helper()
	items, _ := r.Body[key].([]any)
	ids := make([]string, 0, len(items))
	for _, x := range items {
		m, _ := x.(map[string]any)
		s, _ := m[field].(string)
		ids = append(ids, s)
	}
	if got := slices.Contains(ids, id); got != shown {
		t.Errorf("%s: %s listed %v, want %v (%s)", key, id, got, shown, r.Raw)
	}
}
