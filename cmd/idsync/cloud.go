package main

import (
	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/idhub"
)

// The engine speaks to Identity Hub in the pool model (internal/pool);
// idhub.Cloud converts to and from the API's messages. These keep it in
// step with every interface the engine declares.
var (
	_ agent.Cloud            = (*idhub.Cloud)(nil)
	_ agent.PasswordCloud    = (*idhub.Cloud)(nil)
	_ agent.UserControlCloud = (*idhub.Cloud)(nil)
	_ agent.SettingsAPI      = (*idhub.Cloud)(nil)
)
