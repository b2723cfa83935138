// Package idhub is the Yandex Identity Hub API client used by the agent.
//
// It is built on the go-genproto gRPC clients
// (organizationmanager/v1/idp, organizationmanager/v1, operation, iam/v1)
// and adds what every caller needs around them:
//
//   - the connection, built by Yandex's go-sdk/v2 core (connection pool,
//     per-API-package endpoint routing) to the three endpoints
//     (organization-manager, operation, IAM), with verified TLS by default
//     and plaintext only on request (connect.go says which parts stay
//     idsync's and why);
//   - token sources (an authorized key read, signed into a PS256 JWT and
//     exchanged by the SDK; the VM metadata service without proxy or
//     redirects; a static token) that are gRPC per-RPC credentials, cache
//     tokens and refresh them at half their lifetime;
//   - waiting for long-running operations;
//   - error classification (Classify) the agent branches on;
//   - the one retry layer: every call is wrapped by a retry policy
//     (exponential backoff and jitter, at most RetryOptions.MaxAttempts
//     attempts, creates only when the server turned them away), so
//     callers never loop;
//   - typed helpers for sessions, settings, users and groups with paging
//     and chunking built in;
//   - per-method call and error counters (CallStats).
//
// The package knows nothing about LDAP or the agent.
package idhub
