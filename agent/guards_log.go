package agent

import "go.uber.org/zap"

// logGuards logs the stop of a plan and every guard it trips, with the
// numbers and the first examples.
func (c *cycle) logGuards(p *Plan) {
	stops := p.Guards
	if p.Safety != nil && p.Safety.Guard == "" {
		stops = append([]SafetyStop{*p.Safety}, stops...)
	}
	for _, s := range stops {
		c.log.Warn("safety stop", zap.String("guard", s.Guard), zap.Int("count", s.Count), zap.Int("of", s.Of),
			zap.Float64("limit", s.Limit), zap.Strings("examples", s.Examples), zap.String("reason", s.Reason))
	}
}
