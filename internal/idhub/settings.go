package idhub

import (
	"context"
	"fmt"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/proto"
)

// GetUserpool returns the client's user pool.
func (c *Client) GetUserpool(ctx context.Context) (*idp.Userpool, error) {
	var pool *idp.Userpool
	err := c.do(ctx, "GetUserpool", true, func(ctx context.Context) error {
		var err error
		pool, err = c.pools.Get(ctx, &idp.GetUserpoolRequest{UserpoolId: c.opts.UserpoolID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return pool, nil
}

// organizationID returns Options.OrganizationID or, when empty, the pool's
// organization, read once.
func (c *Client) organizationID(ctx context.Context) (string, error) {
	c.orgMu.Lock()
	defer c.orgMu.Unlock()
	if c.orgID != "" {
		return c.orgID, nil
	}
	pool, err := c.GetUserpool(ctx)
	if err != nil {
		return "", err
	}
	if pool.GetOrganizationId() == "" {
		return "", fmt.Errorf("idhub: userpool %s has no organization id", c.opts.UserpoolID)
	}
	c.orgID = pool.GetOrganizationId()
	return c.orgID, nil
}

// GetSyncSettings returns the pool's synchronization settings.
func (c *Client) GetSyncSettings(ctx context.Context) (*idp.SynchronizationSettings, error) {
	var s *idp.SynchronizationSettings
	err := c.do(ctx, "GetSynchronizationSettings", true, func(ctx context.Context) error {
		var err error
		s, err = c.sync.GetSynchronizationSettings(ctx, &idp.GetSynchronizationSettingsRequest{SubjectContainerId: c.opts.UserpoolID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// CreateSyncSettings creates the pool's settings. An empty
// SubjectContainerId is set to the client's pool. Not retried.
func (c *Client) CreateSyncSettings(ctx context.Context, req *idp.CreateSynchronizationSettingsRequest) (*idp.SynchronizationSettings, error) {
	req = proto.Clone(req).(*idp.CreateSynchronizationSettingsRequest)
	if req.SubjectContainerId == "" {
		req.SubjectContainerId = c.opts.UserpoolID
	}
	out := &idp.SynchronizationSettings{}
	err := c.opCall(ctx, "CreateSynchronizationSettings", "SynchronizationService/CreateSynchronizationSettings", false,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.sync.CreateSynchronizationSettings(ctx, req)
		}, out)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateSyncSettings updates the fields of the pool's settings named by
// req.UpdateMask. An empty SubjectContainerId is set to the client's pool.
func (c *Client) UpdateSyncSettings(ctx context.Context, req *idp.UpdateSynchronizationSettingsRequest) (*idp.SynchronizationSettings, error) {
	req = proto.Clone(req).(*idp.UpdateSynchronizationSettingsRequest)
	if req.SubjectContainerId == "" {
		req.SubjectContainerId = c.opts.UserpoolID
	}
	out := &idp.SynchronizationSettings{}
	err := c.opCall(ctx, "UpdateSynchronizationSettings", "SynchronizationService/UpdateSynchronizationSettings", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.sync.UpdateSynchronizationSettings(ctx, req)
		}, out)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteSyncSettings deletes the pool's settings.
func (c *Client) DeleteSyncSettings(ctx context.Context) error {
	return c.opCall(ctx, "DeleteSynchronizationSettings", "SynchronizationService/DeleteSynchronizationSettings", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.sync.DeleteSynchronizationSettings(ctx, &idp.DeleteSynchronizationSettingsRequest{SubjectContainerId: c.opts.UserpoolID})
		}, nil)
}

// SetReplicationToken stores the watermark of session type t (at most
// 1000 characters).
func (c *Client) SetReplicationToken(ctx context.Context, t idp.SessionType, token string) error {
	return c.opCall(ctx, "SetReplicationToken", "SynchronizationService/SetReplicationToken", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.sync.SetReplicationToken(ctx, &idp.SetReplicationTokenRequest{
				SubjectContainerId: c.opts.UserpoolID, ReplicationToken: token, SessionType: t,
			})
		}, nil)
}

// GetReplicationToken returns the stored watermark of session type t.
func (c *Client) GetReplicationToken(ctx context.Context, t idp.SessionType) (string, error) {
	var resp *idp.GetReplicationTokenResponse
	err := c.do(ctx, "GetReplicationToken", true, func(ctx context.Context) error {
		var err error
		resp, err = c.sync.GetReplicationToken(ctx, &idp.GetReplicationTokenRequest{SubjectContainerId: c.opts.UserpoolID, SessionType: t})
		return err
	})
	if err != nil {
		return "", err
	}
	return resp.GetReplicationToken(), nil
}

// ResetReplicationToken clears the pool's watermarks, forcing a full sync.
func (c *Client) ResetReplicationToken(ctx context.Context) error {
	return c.opCall(ctx, "ResetReplicationToken", "SynchronizationService/ResetReplicationToken", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.sync.ResetReplicationToken(ctx, &idp.ResetReplicationTokenRequest{SubjectContainerId: c.opts.UserpoolID})
		}, nil)
}

// ListSupportedAttributes returns, per target attribute, the source
// attributes and mapping types the service accepts for flavor.
func (c *Client) ListSupportedAttributes(ctx context.Context, flavor idp.AttributesFlavor) (*idp.ListSupportedAttributesResponse, error) {
	var resp *idp.ListSupportedAttributesResponse
	err := c.do(ctx, "ListSupportedAttributes", true, func(ctx context.Context) error {
		var err error
		resp, err = c.sync.ListSupportedAttributes(ctx, &idp.ListSupportedAttributesRequest{Flavor: flavor})
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
