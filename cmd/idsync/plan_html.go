package main

import (
	"fmt"
	"html/template"
	"io"

	"github.com/idsync/idsync/agent"
)

// planReportMeta says where a report comes from, for its header.
type planReportMeta struct {
	Pool, Agent, Version, Generated string
}

type htmlChange struct {
	Action, Name, ADName, DN, ExternalID string
	Fields                               []fieldChange
}

type htmlMembers struct {
	Group         string
	Add, Remove   []string
	NAdd, NRemove int
}

type htmlPlan struct {
	Meta                      planReportMeta
	Mode                      string
	Users, Groups             []htmlChange
	Members                   []htmlMembers
	Rejected                  []agent.Rejection
	Adds, Removes             int
	SameUsers, SameGroups     int
	Safety                    *agent.SafetyStop
	UserChanges, GroupChanges int
}

// planHTML is a self-contained page (no scripts, no external resources);
// html/template escapes every directory value.
var planHTML = template.Must(template.New("plan").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>idsync plan for {{.Meta.Pool}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:0 0 2em;width:100%}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2}
.stop{background:#fdd;border:2px solid #c00;padding:1em;font-weight:bold}
.old{color:#a00}.new{color:#070}
code{font-size:90%}
</style>
</head>
<body>
<h1>idsync plan: {{.Mode}} cycle</h1>
<p>User pool <code>{{.Meta.Pool}}</code>, agent <code>{{.Meta.Agent}}</code>, idsync {{.Meta.Version}}, generated {{.Meta.Generated}}. Nothing has been changed.</p>
{{with .Safety}}<p class="stop">SAFETY STOP: {{.Reason}}. A cycle would stop before changing anything.</p>{{end}}
<h2>Summary</h2>
<table>
<tr><th>user changes</th><td>{{.UserChanges}}</td></tr>
<tr><th>group changes</th><td>{{.GroupChanges}}</td></tr>
<tr><th>memberships to add</th><td>{{.Adds}}</td></tr>
<tr><th>memberships to remove</th><td>{{.Removes}}</td></tr>
<tr><th>rejected</th><td>{{len .Rejected}}</td></tr>
<tr><th>unchanged</th><td>{{.SameUsers}} users, {{.SameGroups}} groups</td></tr>
</table>
{{if .Users}}<h2>Users</h2>
<table>
<tr><th>action</th><th>username</th><th>changes (old &rarr; new)</th><th>DN</th><th>external id</th></tr>
{{range .Users}}<tr><td>{{.Action}}</td><td>{{.Name}}</td><td>{{range .Fields}}{{.Field}}: <span class="old">{{printf "%q" .Old}}</span> &rarr; <span class="new">{{printf "%q" .New}}</span><br>{{end}}</td><td>{{.DN}}</td><td><code>{{.ExternalID}}</code></td></tr>
{{end}}</table>{{end}}
{{if .Groups}}<h2>Groups</h2>
<table>
<tr><th>action</th><th>name</th><th>AD name</th><th>changes (old &rarr; new)</th><th>external id</th></tr>
{{range .Groups}}<tr><td>{{.Action}}</td><td>{{.Name}}</td><td>{{.ADName}}</td><td>{{range .Fields}}{{.Field}}: <span class="old">{{printf "%q" .Old}}</span> &rarr; <span class="new">{{printf "%q" .New}}</span><br>{{end}}</td><td><code>{{.ExternalID}}</code></td></tr>
{{end}}</table>{{end}}
{{if .Members}}<h2>Group memberships</h2>
<table>
<tr><th>group</th><th>added</th><th>removed</th></tr>
{{range .Members}}<tr><td>{{.Group}}</td><td>{{if .Add}}<details><summary>{{.NAdd}}</summary>{{range .Add}}{{.}}<br>{{end}}</details>{{else}}0{{end}}</td><td>{{if .Remove}}<details><summary>{{.NRemove}}</summary>{{range .Remove}}{{.}}<br>{{end}}</details>{{else}}0{{end}}</td></tr>
{{end}}</table>{{end}}
{{if .Rejected}}<h2>Rejected</h2>
<table>
<tr><th>object</th><th>action</th><th>DN</th><th>external id</th><th>reason</th></tr>
{{range .Rejected}}<tr><td>{{.Object}}</td><td>{{.Action}}</td><td>{{.DN}}</td><td><code>{{.ExternalID}}</code></td><td>{{.Reason}}</td></tr>
{{end}}</table>{{end}}
</body>
</html>
`))

// writePlanHTML writes the plan as a self-contained HTML report an admin
// can attach to a change request: every change by name with old -> new
// values, every member added or removed, rejections and any safety stop.
func writePlanHTML(w io.Writer, p *agent.Plan, meta planReportMeta) error {
	v := htmlPlan{Meta: meta, Mode: string(p.Mode), Rejected: p.Rejected, SameUsers: p.SameUsers, SameGroups: p.SameGroups,
		Safety: p.Safety, UserChanges: len(p.Users), GroupChanges: len(p.Groups)}
	for _, c := range p.Users {
		v.Users = append(v.Users, htmlChange{Action: userVerb(c), Name: c.Fields.Username, DN: c.DN, ExternalID: c.ExternalID, Fields: userFieldChanges(c)})
	}
	for _, c := range p.Groups {
		v.Groups = append(v.Groups, htmlChange{Action: string(c.Action), Name: c.Name, ADName: c.ADName, DN: c.DN, ExternalID: c.ExternalID, Fields: groupFieldChanges(c)})
	}
	for _, m := range p.Members {
		v.Members = append(v.Members, htmlMembers{Group: m.GroupName, Add: memberNames(p, m.Add), Remove: memberNames(p, m.Remove), NAdd: len(m.Add), NRemove: len(m.Remove)})
		v.Adds += len(m.Add)
		v.Removes += len(m.Remove)
	}
	if err := planHTML.Execute(w, v); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}
