package config

import (
	"os"
	"path/filepath"
	"testing"
)

// testHostname is the host name tests derive the default agent_id from.
const testHostname = "Sync Host_01.corp.example.com"

// loadTest parses the file at path like Load does, with a fixed host name
// and env as the only environment variables.
func loadTest(path string, env map[string]string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, err
	}
	return Parse(data, ParseOptions{
		Path:      abs,
		LookupEnv: func(name string) (string, bool) { v, ok := env[name]; return v, ok },
		Hostname:  func() (string, error) { return testHostname, nil },
	})
}

// testdataDir returns the absolute path of testdata.
func testdataDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
