package stacks

func (s Spec) checkGateway(c *checker) {
	image(c, "gateway.image", s.Gateway.Image, defaults.Gateway.Image)
	if s.Gateway.RequireAuth && !s.Loki.AuthEnabled {
		c.fail("loki.authEnabled", s.Loki.AuthEnabled, "this stack requires auth on the gateway: without it anyone who reaches the gateway reads and writes every log",
			"set obs-stack:loki.authEnabled true; to run without auth on purpose, also set obs-stack:gateway.requireAuth false")
	}
	checkWorkload(c, "gateway", s.Gateway.Workload, false, true, s.Cluster, minGatewayMemory)
}
