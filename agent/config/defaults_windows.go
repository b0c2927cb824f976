package config

// platformDefaults returns the defaults of agent.data_dir and
// agent.script_log_dir: under %ProgramData% on Windows.
func platformDefaults(env func(string) (string, bool)) (dataDir, scriptLogDir string) {
	return windowsDataDir(env), windowsScriptLogDir(env)
}
