//go:build windows

package tail

// NotifiedReadInterval is the default check interval of a followed file
// whose directory is watched. On Windows it is DefaultReadInterval:
// ReadDirectoryChangesW reports a file's new size or last-write time
// (FILE_NOTIFY_CHANGE_SIZE, FILE_NOTIFY_CHANGE_LAST_WRITE; fsnotify asks for
// the latter) only once the file system has flushed its cache, which for a
// log kept open and appended to, as Qlik does, can be long after the write.
// Notifications of files created, renamed and deleted
// (FILE_NOTIFY_CHANGE_FILE_NAME) come at once, so discovery still relies on
// them (see NotifiedPollInterval).
const NotifiedReadInterval = DefaultReadInterval
