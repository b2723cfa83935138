package idhub

import (
	"context"
	"fmt"
	"iter"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/proto"
)

// Users iterates over all users of the pool, 1000 per page. filter is the
// API's list filter; empty lists everyone. The API documents no filter
// grammar for users, so idsync passes none (the emulator refuses any).
func (c *Client) Users(ctx context.Context, filter string) iter.Seq2[*idp.User, error] {
	return pages(ctx, c, "ListUsers", func(ctx context.Context, token string) ([]*idp.User, string, error) {
		resp, err := c.users.List(ctx, &idp.ListUsersRequest{
			UserpoolId: c.opts.UserpoolID, PageSize: MaxBatch, PageToken: token, Filter: filter,
		})
		return resp.GetUsers(), resp.GetNextPageToken(), err
	})
}

// ListAllUsers calls fn for every user of the pool, stopping at the first
// error (fn's errors are returned as is).
func (c *Client) ListAllUsers(ctx context.Context, fn func(*idp.User) error) error {
	for u, err := range c.Users(ctx, "") {
		if err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

// GetUser returns one user.
func (c *Client) GetUser(ctx context.Context, userID string) (*idp.User, error) {
	var u *idp.User
	err := c.do(ctx, "GetUser", true, func(ctx context.Context) error {
		var err error
		u, err = c.users.Get(ctx, &idp.GetUserRequest{UserId: userID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// CreateUser creates a user. An empty UserpoolId is set to the client's
// pool. When req carries no credentials, a password is generated with
// UserService.GeneratePassword (it is never logged or returned). req is not
// modified. Not retried.
func (c *Client) CreateUser(ctx context.Context, req *idp.CreateUserRequest) (*idp.User, error) {
	req = proto.Clone(req).(*idp.CreateUserRequest)
	if req.UserpoolId == "" {
		req.UserpoolId = c.opts.UserpoolID
	}
	if req.Credentials == nil {
		spec, err := c.GeneratePassword(ctx)
		if err != nil {
			return nil, fmt.Errorf("idhub: CreateUser: %w", err)
		}
		req.Credentials = &idp.CreateUserRequest_PasswordSpec{PasswordSpec: spec}
	}
	u := &idp.User{}
	err := c.opCall(ctx, "CreateUser", "UserService/Create", false,
		func(ctx context.Context) (*operation.Operation, error) { return c.users.Create(ctx, req) }, u)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// GeneratePassword returns a server-generated password with its proof.
func (c *Client) GeneratePassword(ctx context.Context) (*idp.PasswordSpec, error) {
	var resp *idp.GeneratePasswordResponse
	err := c.do(ctx, "GeneratePassword", true, func(ctx context.Context) error {
		var err error
		resp, err = c.users.GeneratePassword(ctx, &idp.GeneratePasswordRequest{})
		return err
	})
	if err != nil {
		return nil, err
	}
	if resp.GetPasswordSpec() == nil {
		return nil, fmt.Errorf("idhub: GeneratePassword: empty response")
	}
	return resp.GetPasswordSpec(), nil
}

// UpdateUser updates the fields named by req.UpdateMask (required) and
// returns the user.
func (c *Client) UpdateUser(ctx context.Context, req *idp.UpdateUserRequest) (*idp.User, error) {
	if len(req.GetUpdateMask().GetPaths()) == 0 {
		return nil, fmt.Errorf("idhub: UpdateUser %s: empty update mask", req.GetUserId())
	}
	u := &idp.User{}
	err := c.opCall(ctx, "UpdateUser", "UserService/Update", true,
		func(ctx context.Context) (*operation.Operation, error) { return c.users.Update(ctx, req) }, u)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// DeleteUser deletes a user.
func (c *Client) DeleteUser(ctx context.Context, userID string) error {
	return c.opCall(ctx, "DeleteUser", "UserService/Delete", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.users.Delete(ctx, &idp.DeleteUserRequest{UserId: userID})
		}, nil)
}

// SuspendUser deactivates a user.
func (c *Client) SuspendUser(ctx context.Context, userID string) error {
	return c.opCall(ctx, "SuspendUser", "UserService/Suspend", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.users.Suspend(ctx, &idp.SuspendUserRequest{UserId: userID})
		}, nil)
}

// ReactivateUser reactivates a suspended user.
func (c *Client) ReactivateUser(ctx context.Context, userID string) error {
	return c.opCall(ctx, "ReactivateUser", "UserService/Reactivate", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.users.Reactivate(ctx, &idp.ReactivateUserRequest{UserId: userID})
		}, nil)
}

// ConvertUserToExternal attaches externalID to an existing (captured) user
// and returns it. Not retried.
func (c *Client) ConvertUserToExternal(ctx context.Context, userID, externalID string) (*idp.User, error) {
	u := &idp.User{}
	err := c.opCall(ctx, "ConvertUserToExternal", "UserService/ConvertToExternal", false,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.users.ConvertToExternal(ctx, &idp.ConvertToExternalUserRequest{UserId: userID, ExternalId: externalID})
		}, u)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// SetPasswordHash sets the user's password from an AD_MD4 (NT) hash.
func (c *Client) SetPasswordHash(ctx context.Context, userID, ntHash string, needChange bool) error {
	return c.opCall(ctx, "SetPasswordHash", "UserService/SetPasswordHash", true,
		func(ctx context.Context) (*operation.Operation, error) {
			return c.users.SetPasswordHash(ctx, &idp.SetPasswordHashRequest{
				UserId:     userID,
				Hash:       &idp.PasswordHash{PasswordHash: ntHash, PasswordHashType: idp.PasswordHash_AD_MD4},
				NeedChange: needChange,
			})
		}, nil)
}

// ResolveExternalIDs maps external ids to pool users, in calls of at most
// 1000 ids. Unknown ids are simply absent from the result. On error the
// users resolved by earlier calls are returned with it.
func (c *Client) ResolveExternalIDs(ctx context.Context, externalIDs []string) ([]*idp.ResolvedUser, error) {
	var out []*idp.ResolvedUser
	for _, part := range chunks(externalIDs, MaxBatch) {
		var resp *idp.ResolveExternalIdsResponse
		err := c.do(ctx, "ResolveExternalIds", true, func(ctx context.Context) error {
			var err error
			resp, err = c.users.ResolveExternalIds(ctx, &idp.ResolveExternalIdsRequest{UserpoolId: c.opts.UserpoolID, ExternalIds: part})
			return err
		})
		if err != nil {
			return out, err
		}
		out = append(out, resp.GetResolvedUsers()...)
	}
	return out, nil
}
