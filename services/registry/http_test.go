package registry_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// call sends one request with basic credentials and returns status,
// Content-Type and body.
func call(t testing.TB, method, url, contentType, body string, authed bool) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if authed {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func schemaBody(schema string) string {
	b, _ := json.Marshal(map[string]string{"schema": schema})
	return string(b)
}

const v1ct = "application/vnd.schemaregistry.v1+json"

// TestHTTPAPI walks the API through one scripted history and checks each
// answer's status and body (or Confluent error code) against Confluent's.
func TestHTTPAPI(t *testing.T) {
	_, base := start(t, t.TempDir())
	steps := []struct {
		name        string
		method, url string
		contentType string
		body        string
		noAuth      bool
		status      int
		errorCode   int    // expected error_code when status >= 400
		want        string // expected body (JSON compared after compaction) when set
	}{
		{name: "root", method: "GET", url: "/", status: 200, want: `{}`},
		{name: "types", method: "GET", url: "/schemas/types", status: 200, want: `["AVRO"]`},
		{name: "no subjects", method: "GET", url: "/subjects", status: 200, want: `[]`},
		{name: "register v1", method: "POST", url: "/subjects/p-value/versions", body: schemaBody(personV1), status: 200, want: `{"id":1}`},
		{name: "register v1 as schemaregistry+json", method: "POST", url: "/subjects/p-value/versions", contentType: "application/vnd.schemaregistry+json", body: schemaBody(personV1), status: 200, want: `{"id":1}`},
		{name: "register v1 as application/json", method: "POST", url: "/subjects/p-value/versions", contentType: "application/json", body: schemaBody(personV1), status: 200, want: `{"id":1}`},
		{name: "register unsupported media type", method: "POST", url: "/subjects/p-value/versions", contentType: "text/plain", body: schemaBody(personV1), status: 415, errorCode: 415},
		{name: "register without credentials", method: "POST", url: "/subjects/p-value/versions", body: schemaBody(personV2), noAuth: true, status: 401, errorCode: 401},
		{name: "register malformed JSON body", method: "POST", url: "/subjects/p-value/versions", body: `{"schema":`, status: 400, errorCode: 400},
		{name: "register empty schema", method: "POST", url: "/subjects/p-value/versions", body: `{"schema":""}`, status: 422, errorCode: 42201},
		{name: "register invalid avro", method: "POST", url: "/subjects/p-value/versions", body: schemaBody(`{"type":"record","name":"X"}`), status: 422, errorCode: 42201},
		{name: "register non-JSON schema", method: "POST", url: "/subjects/p-value/versions", body: schemaBody(`{not json`), status: 422, errorCode: 42201},
		{name: "register protobuf", method: "POST", url: "/subjects/p-value/versions", body: `{"schema":"syntax = \"proto3\";","schemaType":"PROTOBUF"}`, status: 422, errorCode: 42201},
		{name: "register reference to missing subject", method: "POST", url: "/subjects/q-value/versions", body: `{"schema":"\"string\"","references":[{"name":"x.Y","subject":"nope","version":1}]}`, status: 422, errorCode: 42201},
		{name: "register incompatible", method: "POST", url: "/subjects/p-value/versions", body: schemaBody(personBad), status: 409, errorCode: 409},
		{name: "register with id outside IMPORT mode", method: "POST", url: "/subjects/p-value/versions", body: `{"schema":"\"int\"","id":50}`, status: 422, errorCode: 42205},
		{name: "register v2", method: "POST", url: "/subjects/p-value/versions", body: schemaBody(personV2), status: 200, want: `{"id":2}`},
		{name: "same schema other subject", method: "POST", url: "/subjects/other-value/versions", body: schemaBody(personV2), status: 200, want: `{"id":2}`},
		{name: "get version 1", method: "GET", url: "/subjects/p-value/versions/1", status: 200, want: `{"subject":"p-value","version":1,"id":1,"schema":` + strconv.Quote(personV1) + `}`},
		{name: "get latest", method: "GET", url: "/subjects/p-value/versions/latest", status: 200, want: `{"subject":"p-value","version":2,"id":2,"schema":` + strconv.Quote(personV2) + `}`},
		{name: "get latest raw schema", method: "GET", url: "/subjects/p-value/versions/latest/schema", status: 200, want: personV2},
		{name: "get version of unknown subject", method: "GET", url: "/subjects/nope/versions/1", status: 404, errorCode: 40401},
		{name: "get missing version", method: "GET", url: "/subjects/p-value/versions/7", status: 404, errorCode: 40402},
		{name: "get version zero", method: "GET", url: "/subjects/p-value/versions/0", status: 422, errorCode: 42202},
		{name: "get version not a number", method: "GET", url: "/subjects/p-value/versions/two", status: 422, errorCode: 42202},
		{name: "versions", method: "GET", url: "/subjects/p-value/versions", status: 200, want: `[1,2]`},
		{name: "versions of unknown subject", method: "GET", url: "/subjects/nope/versions", status: 404, errorCode: 40401},
		{name: "lookup", method: "POST", url: "/subjects/p-value", body: schemaBody(personV1), noAuth: true, status: 200, want: `{"subject":"p-value","version":1,"id":1,"schema":` + strconv.Quote(personV1) + `}`},
		{name: "lookup unknown schema", method: "POST", url: "/subjects/p-value", body: schemaBody(`"bytes"`), status: 404, errorCode: 40403},
		{name: "lookup unknown subject", method: "POST", url: "/subjects/nope", body: schemaBody(personV1), status: 404, errorCode: 40401},
		{name: "schema by id", method: "GET", url: "/schemas/ids/1", status: 200, want: `{"schema":` + strconv.Quote(personV1) + `}`},
		{name: "schema by id raw", method: "GET", url: "/schemas/ids/1/schema", status: 200, want: personV1},
		{name: "schema by unknown id", method: "GET", url: "/schemas/ids/99", status: 404, errorCode: 40403},
		{name: "subjects by id", method: "GET", url: "/schemas/ids/2/subjects", status: 200, want: `["other-value","p-value"]`},
		{name: "versions by id", method: "GET", url: "/schemas/ids/2/versions", status: 200, want: `[{"subject":"other-value","version":1},{"subject":"p-value","version":2}]`},
		{name: "compatibility against latest", method: "POST", url: "/compatibility/subjects/p-value/versions/latest", body: schemaBody(personBad), noAuth: true, status: 200, want: `{"is_compatible":false}`},
		{name: "compatibility verbose", method: "POST", url: "/compatibility/subjects/p-value/versions?verbose=true", body: schemaBody(personV2), status: 200, want: `{"is_compatible":true,"messages":[]}`},
		{name: "compatibility unknown subject version", method: "POST", url: "/compatibility/subjects/nope/versions/1", body: schemaBody(personV1), status: 404, errorCode: 40401},
		{name: "compatibility missing version", method: "POST", url: "/compatibility/subjects/p-value/versions/9", body: schemaBody(personV1), status: 404, errorCode: 40402},
		{name: "config default", method: "GET", url: "/config", status: 200, want: `{"compatibilityLevel":"BACKWARD_TRANSITIVE"}`},
		{name: "subject config not set", method: "GET", url: "/config/p-value", status: 404, errorCode: 40408},
		{name: "subject config default to global", method: "GET", url: "/config/p-value?defaultToGlobal=true", status: 200, want: `{"compatibilityLevel":"BACKWARD_TRANSITIVE"}`},
		{name: "set invalid level", method: "PUT", url: "/config/p-value", body: `{"compatibility":"SIDEWAYS"}`, status: 422, errorCode: 42203},
		{name: "set config without credentials", method: "PUT", url: "/config", body: `{"compatibility":"NONE"}`, noAuth: true, status: 401, errorCode: 401},
		{name: "set subject config", method: "PUT", url: "/config/p-value", body: `{"compatibility":"full"}`, status: 200, want: `{"compatibility":"FULL"}`},
		{name: "get subject config", method: "GET", url: "/config/p-value", status: 200, want: `{"compatibilityLevel":"FULL"}`},
		{name: "delete subject config", method: "DELETE", url: "/config/p-value", status: 200, want: `{"compatibilityLevel":"FULL"}`},
		{name: "mode default", method: "GET", url: "/mode", status: 200, want: `{"mode":"READWRITE"}`},
		{name: "subject mode not set", method: "GET", url: "/mode/p-value", status: 404, errorCode: 40409},
		{name: "set invalid mode", method: "PUT", url: "/mode", body: `{"mode":"SLEEPY"}`, status: 422, errorCode: 42204},
		{name: "import mode needs an empty registry", method: "PUT", url: "/mode", body: `{"mode":"IMPORT"}`, status: 422, errorCode: 42205},
		{name: "set subject read-only", method: "PUT", url: "/mode/p-value", body: `{"mode":"READONLY"}`, status: 200, want: `{"mode":"READONLY"}`},
		{name: "register in read-only", method: "POST", url: "/subjects/p-value/versions", body: schemaBody(personV2), status: 422, errorCode: 42205},
		{name: "delete in read-only", method: "DELETE", url: "/subjects/p-value", status: 422, errorCode: 42205},
		{name: "back to read-write", method: "DELETE", url: "/mode/p-value", status: 200, want: `{"mode":"READONLY"}`},
		{name: "hard delete version before soft", method: "DELETE", url: "/subjects/p-value/versions/1?permanent=true", status: 404, errorCode: 40407},
		{name: "soft delete version 1", method: "DELETE", url: "/subjects/p-value/versions/1", status: 200, want: `1`},
		{name: "soft delete version 1 again", method: "DELETE", url: "/subjects/p-value/versions/1", status: 404, errorCode: 40406},
		{name: "soft-deleted version hidden", method: "GET", url: "/subjects/p-value/versions/1", status: 404, errorCode: 40402},
		{name: "soft-deleted version with deleted=true", method: "GET", url: "/subjects/p-value/versions/1?deleted=true", status: 200, want: `{"subject":"p-value","version":1,"id":1,"schema":` + strconv.Quote(personV1) + `}`},
		{name: "id still readable after soft delete", method: "GET", url: "/schemas/ids/1", status: 200, want: `{"schema":` + strconv.Quote(personV1) + `}`},
		{name: "hard delete version 1", method: "DELETE", url: "/subjects/p-value/versions/1?permanent=true", status: 200, want: `1`},
		{name: "id gone after hard delete", method: "GET", url: "/schemas/ids/1", status: 404, errorCode: 40403},
		{name: "hard delete subject before soft", method: "DELETE", url: "/subjects/p-value?permanent=true", status: 404, errorCode: 40405},
		{name: "soft delete subject", method: "DELETE", url: "/subjects/p-value", status: 200, want: `[2]`},
		{name: "soft delete subject again", method: "DELETE", url: "/subjects/p-value", status: 404, errorCode: 40404},
		{name: "subjects without deleted", method: "GET", url: "/subjects", status: 200, want: `["other-value"]`},
		{name: "subjects with deleted", method: "GET", url: "/subjects?deleted=true", status: 200, want: `["other-value","p-value"]`},
		{name: "hard delete subject", method: "DELETE", url: "/subjects/p-value?permanent=true", status: 200, want: `[2]`},
		{name: "delete unknown subject", method: "DELETE", url: "/subjects/p-value", status: 404, errorCode: 40401},
		{name: "ids never reused after hard delete", method: "POST", url: "/subjects/p-value/versions", body: schemaBody(`"int"`), status: 200, want: `{"id":3}`},
		{name: "re-registering a hard-deleted schema keeps its id", method: "POST", url: "/subjects/r-value/versions", body: schemaBody(personV1), status: 200, want: `{"id":1}`},
		{name: "unknown path", method: "GET", url: "/nothing/here", status: 404, errorCode: 404},
	}
	for _, st := range steps {
		ct := st.contentType
		if ct == "" && st.body != "" {
			ct = v1ct
		}
		status, gotCT, body := call(t, st.method, base+st.url, ct, st.body, !st.noAuth)
		if status != st.status {
			t.Fatalf("%s: %s %s = %d %s; want status %d", st.name, st.method, st.url, status, body, st.status)
		}
		if gotCT != v1ct {
			t.Errorf("%s: Content-Type = %q; want %q", st.name, gotCT, v1ct)
		}
		if st.status >= 400 {
			var e struct {
				ErrorCode int    `json:"error_code"`
				Message   string `json:"message"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.ErrorCode != st.errorCode || e.Message == "" {
				t.Fatalf("%s: error body %s; want error_code %d with a message", st.name, body, st.errorCode)
			}
			continue
		}
		if st.want != "" && compact(t, body) != compact(t, st.want) {
			t.Fatalf("%s: body\n got %s\nwant %s", st.name, body, st.want)
		}
	}
}

func compact(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %s: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestImportMode registers with given ids and versions in IMPORT mode, as
// a migration from another registry does, and checks that later ids
// continue after the highest imported one.
func TestImportMode(t *testing.T) {
	_, base := start(t, t.TempDir())
	for _, st := range []struct {
		method, url, body string
		status            int
		want              string
	}{
		{"PUT", "/mode", `{"mode":"IMPORT"}`, 200, `{"mode":"IMPORT"}`},
		{"POST", "/subjects/a/versions", `{"schema":"\"int\"","id":40,"version":3}`, 200, `{"id":40}`},
		{"POST", "/subjects/a/versions", `{"schema":"\"long\"","id":40,"version":4}`, 422, ""},
		{"GET", "/subjects/a/versions", "", 200, `[3]`},
		{"PUT", "/mode", `{"mode":"READWRITE"}`, 200, `{"mode":"READWRITE"}`},
		{"POST", "/subjects/b/versions", `{"schema":"\"string\""}`, 200, `{"id":41}`},
	} {
		status, _, body := call(t, st.method, base+st.url, v1ct, st.body, true)
		if status != st.status || (st.want != "" && compact(t, body) != compact(t, st.want)) {
			t.Fatalf("%s %s %s = %d %s; want %d %s", st.method, st.url, st.body, status, body, st.status, st.want)
		}
	}
}

// BenchmarkLookupByID measures GET /schemas/ids/{id} over HTTP against a
// running server (SQLite store, loopback, keep-alive), the path a
// serializer's cache miss takes, with lookups/s as a metric. The baseline
// sub-benchmark serves the same bytes from a static handler through the
// same client in the same run, so registry/baseline is the cost of the
// registry itself over bare net/http.
func BenchmarkLookupByID(b *testing.B) {
	_, base := start(b, b.TempDir())
	const n = 20
	for i := 1; i <= n; i++ {
		s := `{"type":"fixed","name":"F` + strconv.Itoa(i) + `","size":` + strconv.Itoa(i) + `}`
		if status, _, body := call(b, "POST", base+"/subjects/s"+strconv.Itoa(i)+"/versions", v1ct, schemaBody(s), true); status != 200 {
			b.Fatalf("register: %d %s", status, body)
		}
	}
	_, _, sample := call(b, "GET", base+"/schemas/ids/1", "", "", false)
	static := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", v1ct)
		_, _ = io.WriteString(w, sample)
	}))
	defer static.Close()

	for _, bc := range []struct{ name, base string }{{"registry", base}, {"baseline-static-handler", static.URL}} {
		b.Run(bc.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					resp, err := client.Get(bc.base + "/schemas/ids/" + strconv.Itoa(i%n+1))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		})
	}
}
