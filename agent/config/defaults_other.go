//go:build !windows

package config

// platformDefaults returns the defaults of agent.data_dir and
// agent.script_log_dir. Qlik Sense runs only on Windows, so elsewhere there is
// no script log directory to default to.
func platformDefaults(func(string) (string, bool)) (dataDir, scriptLogDir string) {
	return "/var/lib/herald", ""
}
