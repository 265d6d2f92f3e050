package main

import "testing"

// --cost-tag-keys is checked with the other settings: a key given twice
// would split the cost twice over.
func TestNodeRefusesACostTagKeyGivenTwice(t *testing.T) {
	args, env := validNodeArgs(t)
	report := runRefused(t, nodeCmd, append(args, "--log-level", "verbose", "--cost-tag-keys", "team, env,team"), env)
	expectProblems(t, report, map[string]string{
		"--log-level / ECI_VNODE_LOG_LEVEL":         `"verbose" is not a log level`,
		"--cost-tag-keys / ECI_VNODE_COST_TAG_KEYS": `tag key "team" is given twice`,
	})
}
