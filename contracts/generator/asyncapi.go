package generator

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/envelope"
)

// AvroSchemaFormat is the AsyncAPI schemaFormat of Samnav's payloads.
const AvroSchemaFormat = "application/vnd.apache.avro+json;version=1.9.0"

// AsyncAPI returns an AsyncAPI 3.0 document of every concept's state topic:
// compacted, keyed by the record's opaque id, the value the record's full
// current state in Avro (Confluent wire format), a tombstone when the record
// ends or is erased.
func AsyncAPI(m *model.Model) ([]byte, error) {
	channels := node(yaml.MappingNode)
	operations := node(yaml.MappingNode)
	messages := node(yaml.MappingNode)
	for _, c := range m.Concepts {
		id := fmt.Sprintf("%sV%d", c.ID, c.Major)
		msg := GoTypeName(c)
		add(channels, id, mapping(
			"address", scalar(c.Topic()),
			"title", scalar(c.Name.EN+" / "+c.Name.SV),
			"description", scalar(fmt.Sprintf("Current state of every %s record, mastered by %s. %s", c.ID, c.Master, c.Definition.EN)),
			"messages", mapping(msg, mapping("$ref", scalar("#/components/messages/"+msg))),
			"bindings", mapping("kafka", mapping(
				"topic", scalar(c.Topic()),
				"topicConfiguration", mapping("cleanup.policy", seq(scalar("compact"))),
				"bindingVersion", scalar("0.5.0"),
			)),
		))
		add(operations, "receive"+model.Pascal(id), mapping(
			"action", scalar("receive"),
			"channel", mapping("$ref", scalar("#/channels/"+id)),
			"summary", scalar(fmt.Sprintf("Follow %s: a full snapshot, then every change.", c.Topic())),
			"messages", seq(mapping("$ref", scalar("#/channels/"+id+"/messages/"+msg))),
		))
		add(messages, msg, mapping(
			"name", scalar(msg),
			"title", scalar(c.Name.EN),
			"summary", scalar(c.Definition.EN),
			"contentType", scalar("application/vnd.apache.avro"),
			"headers", mapping(
				"type", scalar("object"),
				"description", scalar("CloudEvents Kafka binding attributes, W3C trace context and Samnav's own headers (pkg/sdk/envelope defines them; a test in services/masterdata holds this list to it)."),
				"properties", mapping(
					envelope.HeaderID, mapping("type", scalar("string")),
					envelope.HeaderSource, mapping("type", scalar("string")),
					envelope.HeaderType, mapping("type", scalar("string")),
					envelope.HeaderTime, mapping("type", scalar("string")),
					envelope.HeaderSubject, mapping("type", scalar("string")),
					envelope.HeaderSpecVersion, mapping("type", scalar("string")),
					envelope.HeaderContentType, mapping("type", scalar("string"), "description", scalar("application/avro; absent on tombstones.")),
					envelope.HeaderTraceParent, mapping("type", scalar("string")),
					envelope.HeaderRevision, mapping("type", scalar("string"), "description", scalar("The record's revision after the change; grows with every change of one record.")),
					envelope.HeaderEndedAt, mapping("type", scalar("string"), "description", scalar("When the record ended (RFC 3339), on every event of an ended record.")),
					envelope.HeaderResync, mapping("type", scalar("string"), "description", scalar("\"true\" on events republished by a resync.")),
				),
			),
			"payload", mapping(
				"schemaFormat", scalar(AvroSchemaFormat),
				"schema", mapping("$ref", scalar("./"+AvroFile(c))),
			),
			"bindings", mapping("kafka", mapping(
				"key", mapping("type", scalar("string"), "description", scalar("The record's opaque id; never a personnummer.")),
				"schemaIdLocation", scalar("payload"),
				"schemaIdPayloadEncoding", scalar("confluent"),
				"schemaLookupStrategy", scalar("TopicNameStrategy"),
				"bindingVersion", scalar("0.5.0"),
			)),
		))
	}
	doc := mapping(
		"asyncapi", scalar("3.0.0"),
		"info", mapping(
			"title", scalar("Samnav state topics"),
			"version", scalar("1.0.0"),
			"description", scalar("Every shared concept of the city on its compacted state topic samnav.<concept>.v<major>. Generated from the concept model in contracts/model."),
		),
		"defaultContentType", scalar("application/vnd.apache.avro"),
		"channels", channels,
		"operations", operations,
		"components", mapping("messages", messages),
	)
	doc.HeadComment = generatedBy
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode asyncapi: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode asyncapi: %w", err)
	}
	return b.Bytes(), nil
}

func node(kind yaml.Kind) *yaml.Node { return &yaml.Node{Kind: kind} }

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func seq(items ...*yaml.Node) *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Content: items} }

func mapping(kv ...any) *yaml.Node {
	n := node(yaml.MappingNode)
	for i := 0; i+1 < len(kv); i += 2 {
		add(n, kv[i].(string), kv[i+1].(*yaml.Node))
	}
	return n
}

func add(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, scalar(key), v)
}
