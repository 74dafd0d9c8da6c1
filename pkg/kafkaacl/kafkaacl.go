// Package kafkaacl creates, lists and deletes Kafka access control entries
// over the Kafka protocol (CreateAcls, DescribeAcls, DeleteAcls) through
// kafka-go's version-negotiating Client, so the same calls manage the
// embedded broker and Apache Kafka with a standard authorizer
// (StandardAuthorizer on KRaft). The client must act as a principal allowed
// to ALTER (create, delete) and DESCRIBE the cluster's ACLs.
package kafkaacl

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/segmentio/kafka-go"
)

// Entry is one access control entry, in the words kafka-acls.sh uses.
type Entry struct {
	Principal    string `json:"principal"`    // e.g. "User:skolplattform"
	ResourceType string `json:"resourceType"` // TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID
	ResourceName string `json:"resourceName"`
	PatternType  string `json:"patternType"` // LITERAL, PREFIXED
	Operation    string `json:"operation"`   // READ, WRITE, DESCRIBE, ...
	Permission   string `json:"permission"`  // ALLOW, DENY
	Host         string `json:"host"`        // "*" for any host
}

// String renders e compactly, for logs and error messages.
func (e Entry) String() string {
	return fmt.Sprintf("%s %s %s on %s %s:%s from %s", e.Permission, e.Principal, e.Operation, e.ResourceType, e.PatternType, e.ResourceName, e.Host)
}

var (
	resourceTypes = map[string]kafka.ResourceType{
		"TOPIC": kafka.ResourceTypeTopic, "GROUP": kafka.ResourceTypeGroup,
		"CLUSTER": kafka.ResourceTypeCluster, "TRANSACTIONAL_ID": kafka.ResourceTypeTransactionalID,
	}
	patternTypes = map[string]kafka.PatternType{"LITERAL": kafka.PatternTypeLiteral, "PREFIXED": kafka.PatternTypePrefixed}
	operations   = map[string]kafka.ACLOperationType{
		"ALL": kafka.ACLOperationTypeAll, "READ": kafka.ACLOperationTypeRead, "WRITE": kafka.ACLOperationTypeWrite,
		"CREATE": kafka.ACLOperationTypeCreate, "DELETE": kafka.ACLOperationTypeDelete, "ALTER": kafka.ACLOperationTypeAlter,
		"DESCRIBE": kafka.ACLOperationTypeDescribe, "CLUSTER_ACTION": kafka.ACLOperationTypeClusterAction,
		"DESCRIBE_CONFIGS": kafka.ACLOperationTypeDescribeConfigs, "ALTER_CONFIGS": kafka.ACLOperationTypeAlterConfigs,
		"IDEMPOTENT_WRITE": kafka.ACLOperationTypeIdempotentWrite,
	}
	permissions = map[string]kafka.ACLPermissionType{"ALLOW": kafka.ACLPermissionTypeAllow, "DENY": kafka.ACLPermissionTypeDeny}
)

func keys[V any](m map[string]V) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Validate reports every problem with e at once, each naming the field and
// the rule.
func (e Entry) Validate() error {
	var errs []error
	if p, n, ok := strings.Cut(e.Principal, ":"); !ok || p == "" || n == "" {
		errs = append(errs, fmt.Errorf("principal %q: must be <type>:<name>, e.g. User:skolplattform", e.Principal))
	}
	if _, ok := resourceTypes[e.ResourceType]; !ok {
		errs = append(errs, fmt.Errorf("resourceType %q: must be one of %s", e.ResourceType, keys(resourceTypes)))
	}
	if e.ResourceName == "" {
		errs = append(errs, errors.New("resourceName: must not be empty"))
	}
	if _, ok := patternTypes[e.PatternType]; !ok {
		errs = append(errs, fmt.Errorf("patternType %q: must be one of %s", e.PatternType, keys(patternTypes)))
	}
	if _, ok := operations[e.Operation]; !ok {
		errs = append(errs, fmt.Errorf("operation %q: must be one of %s", e.Operation, keys(operations)))
	}
	if _, ok := permissions[e.Permission]; !ok {
		errs = append(errs, fmt.Errorf("permission %q: must be one of %s", e.Permission, keys(permissions)))
	}
	if e.Host == "" {
		errs = append(errs, errors.New(`host: must not be empty ("*" for any host)`))
	}
	if len(errs) > 0 {
		return fmt.Errorf("acl %s: %w", e, errors.Join(errs...))
	}
	return nil
}

func validate(entries []Entry) error {
	var errs []error
	for _, e := range entries {
		if err := e.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// kafka is e in kafka-go's terms: the one mapping of the names an Entry
// holds to the protocol's enums.
func (e Entry) kafka() kafka.ACLEntry {
	return kafka.ACLEntry{
		ResourceType: resourceTypes[e.ResourceType], ResourceName: e.ResourceName, ResourcePatternType: patternTypes[e.PatternType],
		Principal: e.Principal, Host: e.Host, Operation: operations[e.Operation], PermissionType: permissions[e.Permission],
	}
}

// Create adds entries. Adding an entry that exists already changes nothing,
// so Create is safe to retry.
func Create(ctx context.Context, client *kafka.Client, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := validate(entries); err != nil {
		return fmt.Errorf("create acls: %w", err)
	}
	req := &kafka.CreateACLsRequest{ACLs: make([]kafka.ACLEntry, len(entries))}
	for i, e := range entries {
		req.ACLs[i] = e.kafka()
	}
	resp, err := client.CreateACLs(ctx, req)
	if err != nil {
		return fmt.Errorf("create acls: %w", err)
	}
	var errs []error
	for i, e := range resp.Errors {
		if e != nil {
			errs = append(errs, fmt.Errorf("acl %s: %w", entries[min(i, len(entries)-1)], e))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("create acls: %w", errors.Join(errs...))
	}
	return nil
}

// Delete removes exactly entries (each filter matches one entry's every
// field). Deleting an entry that does not exist is not an error, so Delete
// is safe to retry. It returns the entries the broker removed.
func Delete(ctx context.Context, client *kafka.Client, entries ...Entry) ([]Entry, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	if err := validate(entries); err != nil {
		return nil, fmt.Errorf("delete acls: %w", err)
	}
	req := &kafka.DeleteACLsRequest{Filters: make([]kafka.DeleteACLsFilter, len(entries))}
	for i, e := range entries {
		a := e.kafka()
		req.Filters[i] = kafka.DeleteACLsFilter{
			ResourceTypeFilter: a.ResourceType, ResourceNameFilter: a.ResourceName, ResourcePatternTypeFilter: a.ResourcePatternType,
			PrincipalFilter: a.Principal, HostFilter: a.Host, Operation: a.Operation, PermissionType: a.PermissionType,
		}
	}
	resp, err := client.DeleteACLs(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("delete acls: %w", err)
	}
	var (
		errs    []error
		deleted []Entry
	)
	for i, r := range resp.Results {
		if r.Error != nil {
			errs = append(errs, fmt.Errorf("acl %s: %w", entries[min(i, len(entries)-1)], r.Error))
			continue
		}
		for _, m := range r.MatchingACLs {
			if m.Error != nil {
				errs = append(errs, fmt.Errorf("acl %s: %w", entries[min(i, len(entries)-1)], m.Error))
				continue
			}
			deleted = append(deleted, Entry{
				Principal: m.Principal, ResourceType: name(resourceTypes, m.ResourceType), ResourceName: m.ResourceName,
				PatternType: name(patternTypes, m.ResourcePatternType), Operation: name(operations, m.Operation),
				Permission: name(permissions, m.PermissionType), Host: m.Host,
			})
		}
	}
	if len(errs) > 0 {
		return deleted, fmt.Errorf("delete acls: %w", errors.Join(errs...))
	}
	return deleted, nil
}

// List returns every entry on the cluster of the given resource type
// ("" for all types).
func List(ctx context.Context, client *kafka.Client, resourceType string) ([]Entry, error) {
	rt := kafka.ResourceTypeAny
	if resourceType != "" {
		var ok bool
		if rt, ok = resourceTypes[resourceType]; !ok {
			return nil, fmt.Errorf("list acls: resourceType %q: must be one of %s", resourceType, keys(resourceTypes))
		}
	}
	resp, err := client.DescribeACLs(ctx, &kafka.DescribeACLsRequest{Filter: kafka.ACLFilter{
		ResourceTypeFilter: rt, ResourcePatternTypeFilter: kafka.PatternTypeAny,
		Operation: kafka.ACLOperationTypeAny, PermissionType: kafka.ACLPermissionTypeAny,
	}})
	if err != nil {
		return nil, fmt.Errorf("list acls: %w", err)
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("list acls: %w", resp.Error)
	}
	var out []Entry
	for _, r := range resp.Resources {
		for _, a := range r.ACLs {
			out = append(out, Entry{
				Principal: a.Principal, ResourceType: name(resourceTypes, r.ResourceType), ResourceName: r.ResourceName,
				PatternType: name(patternTypes, r.PatternType), Operation: name(operations, a.Operation),
				Permission: name(permissions, a.PermissionType), Host: a.Host,
			})
		}
	}
	return out, nil
}

func name[V comparable](m map[string]V, v V) string {
	for k, x := range m {
		if x == v {
			return k
		}
	}
	return fmt.Sprint(v)
}
