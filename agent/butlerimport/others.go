package butlerimport

// feature is a Butler setting the import does not carry over. It is noted
// only when Butler had it switched on: every Butler config lists every key,
// and a line for each disabled one would bury the ones that matter.
type feature struct {
	// key is the path below Butler of a section with an enable switch.
	key string
	// parent, when set, is a master switch that must be on as well.
	parent string
	what   string
}

const (
	noEmail  = "Herald has no email sink"
	noSlack  = "Herald has no Slack sink; a webhook sink with a template can post to a Slack incoming webhook"
	noTeams  = "Herald has no Teams sink; a webhook sink with a template can post to a Teams workflow"
	notTasks = "Herald alerts on reload tasks from the scheduler log only"
)

var features = []feature{
	{"emailNotification.reloadTaskFailure", "emailNotification", "email on failed reloads: " + noEmail},
	{"emailNotification.reloadTaskAborted", "emailNotification", "email on aborted reloads: " + noEmail},
	{"emailNotification.reloadTaskSuccess", "emailNotification", "email on successful reloads: " + noEmail},
	{"emailNotification.preloadTaskFailure", "emailNotification", "email on failed preload tasks: " + noEmail},
	{"emailNotification.preloadTaskSuccess", "emailNotification", "email on successful preload tasks: " + noEmail},
	{"emailNotification.distributeTaskFailure", "emailNotification", "email on failed distribute tasks: " + noEmail},
	{"emailNotification.distributeTaskSuccess", "emailNotification", "email on successful distribute tasks: " + noEmail},
	{"slackNotification.reloadTaskFailure", "slackNotification", "Slack message on failed reloads: " + noSlack},
	{"slackNotification.reloadTaskAborted", "slackNotification", "Slack message on aborted reloads: " + noSlack},
	{"teamsNotification.reloadTaskFailure", "teamsNotification", "Teams message on failed reloads: " + noTeams},
	{"teamsNotification.reloadTaskAborted", "teamsNotification", "Teams message on aborted reloads: " + noTeams},
	{"incidentTool.newRelic", "", "New Relic events and logs: Herald has no New Relic sink"},
	{"mqttConfig", "", "MQTT messages: Herald has no MQTT sink"},
	{"influxDb", "", "InfluxDB metrics: Herald writes none; its own counters are on /metrics ([server] listen)"},
	{"scriptLog.storeOnDisk.clientManaged.reloadTaskFailure", "", "copies of failed reloads' script logs: Herald does not copy them; its alerts name the script log file"},
	{"serviceMonitor", "", "Windows service monitoring: " + notTasks},
	{"qlikSenseLicense.serverLicenseMonitor", "", "server license monitoring: " + notTasks},
	{"qlikSenseLicense.licenseMonitor", "", "access license monitoring: " + notTasks},
	{"qlikSenseLicense.licenseRelease", "", "releasing unused access licenses: not something Herald does"},
	{"qlikSenseVersion.versionMonitor", "", "Qlik Sense version monitoring: " + notTasks},
	{"qlikSenseCloud", "", "Qlik Cloud app reload alerts: Herald reads the logs of client-managed Qlik Sense"},
	{"heartbeat", "", "heartbeats: Herald serves /healthz on [server] listen for your monitoring to poll"},
	{"restServerConfig", "", "Butler's REST API (start tasks, reload apps, files, key-value store, ...): not part of Herald"},
	{"scheduler", "", "Butler's task scheduler: not part of Herald"},
	{"keyValueStore", "", "Butler's key-value store: not part of Herald"},
}

// others notes what Butler does beyond SIGNL4 and webhooks, and how Herald
// gets the events Butler received over UDP.
func (c *converter) others(butler node) {
	if u := butler.at("udpServerConfig"); u.at("enable").enabled() {
		c.note(Changed, u.path, "Herald reads the scheduler log on each node instead of receiving UDP messages: "+
			"run Herald on every node that runs the Qlik Sense Scheduler; Butler's log appender "+
			`(C:\ProgramData\Qlik\Sense\Scheduler\LocalLogConfig.xml) can go when Butler does`)
	}
	for _, f := range features {
		if f.parent != "" && !butler.at(f.parent+".enable").enabled() {
			continue
		}
		if n := butler.at(f.key); n.at("enable").enabled() {
			c.note(NotCarried, n.path, "%s", f.what)
		}
	}
}
