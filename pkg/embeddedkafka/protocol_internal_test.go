package embeddedkafka

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
)

// recordingConn is the client's side of a kafkaConn: it serves in as the
// client's bytes and records what is written to the client.
type recordingConn struct {
	net.Conn
	in  io.Reader
	out bytes.Buffer
}

func (r *recordingConn) Read(p []byte) (int, error)  { return r.in.Read(p) }
func (r *recordingConn) Write(p []byte) (int, error) { return r.out.Write(p) }
func (r *recordingConn) Close() error                { return nil }

func testConn(in []byte) (*kafkaConn, *recordingConn) {
	rc := &recordingConn{in: bytes.NewReader(in)}
	p := newProtocol(Config{Superuser: kafkaauth.Config{Mechanism: kafkaauth.ScramSHA512, Username: "u", Password: "p"}}, true)
	return &kafkaConn{Conn: rc, r: bufio.NewReader(rc), p: p, pending: map[int32]watched{}}, rc
}

func apiVersionsResponse(corr int32) []byte {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 3
	for _, k := range []int16{0, 17, 36} {
		key := kmsg.NewApiVersionsResponseApiKey()
		key.ApiKey, key.MinVersion, key.MaxVersion = k, 1, 2
		resp.ApiKeys = append(resp.ApiKeys, key)
	}
	return encodeResponse(corr, resp)
}

// A response split over several writes, or several in one write, is
// rewritten as one written whole, and an unwatched one passes unchanged.
func TestWriteRewritesResponsesHoweverSplit(t *testing.T) {
	other := encodeResponse(8, kmsg.NewPtrMetadataResponse())
	stream := append(apiVersionsResponse(7), other...)
	var want []byte
	for _, chunk := range []int{len(stream), 1, 3, 9} {
		c, rc := testConn(nil)
		c.watch(7, watched{key: kmsg.ApiVersions.Int16(), version: 3})
		for rest := stream; len(rest) > 0; {
			k := min(chunk, len(rest))
			if n, err := c.Write(rest[:k]); err != nil || n != k {
				t.Fatalf("write %d bytes: %d, %v", k, n, err)
			}
			rest = rest[k:]
		}
		got := rc.out.Bytes()
		if want == nil {
			want = bytes.Clone(got)
			body := got[8 : len(got)-len(other)]
			resp := kmsg.NewPtrApiVersionsResponse()
			resp.Version = 3
			if err := resp.ReadFrom(body); err != nil {
				t.Fatal(err)
			}
			if resp.ApiKeys[1].MinVersion != 0 || resp.ApiKeys[0].MinVersion != 1 {
				t.Fatalf("rewritten ranges: %+v", resp.ApiKeys)
			}
			if !bytes.Equal(got[len(got)-len(other):], other) {
				t.Fatal("the unwatched response changed")
			}
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("written in chunks of %d: %x, want %x", chunk, got, want)
		}
	}
}

// FuzzRead feeds any client bytes through the layer: it must hand kfake
// what it reads or fail, never panic.
func FuzzRead(f *testing.F) {
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Mechanism = "SCRAM-SHA-512"
	f.Add(kmsg.NewRequestFormatter().AppendRequest(nil, hs, 1))
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.Version, auth.SASLAuthBytes = 2, []byte("n,,n=a=2Cb,r=x")
	f.Add(kmsg.NewRequestFormatter().AppendRequest(nil, auth, 2))
	f.Add(binary.BigEndian.AppendUint32(nil, 3))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, _ := testConn(in)
		buf := make([]byte, 64)
		for range 100 {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
}
