package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// The Windows installer's identities. The UpgradeCode ties every Herald MSI
// together, so installing a newer one replaces the older (a major upgrade);
// the component GUIDs name "herald.exe in Program Files\Herald" and "the
// sample config in ProgramData\Herald" across all versions. Never change them.
const (
	msiUpgradeCode   = "31b30155-23de-4a7d-bfad-9ad4210e365e"
	msiExeComponent  = "32854cc0-2872-4cc6-92da-ac65e89ae5cf"
	msiConfComponent = "3caaeffe-5d09-4d90-a150-c48d5f12075b"
)

// Component attributes (Windows Installer, Component table): the config is
// installed once, never overwritten by a later install, and left behind on
// uninstall, so the admin's edits and secrets survive both.
const (
	msidbComponentAttributesPermanent      = 0x10
	msidbComponentAttributesNeverOverwrite = 0x80
	msidbComponentAttributes64bit          = 0x100
)

// The layout shared by the MSI and the zip: where things land on the node,
// relative to C:\.
const (
	exeDir  = "Program Files/Herald"
	confDir = "ProgramData/Herald"
)

// windowsName is the published name of a Windows artefact, such as
// herald-v1.2.0-windows-amd64.msi.
func (o *options) windowsName(ext string) string {
	return fmt.Sprintf("%s-%s-windows-amd64.%s", o.Name, o.Version, ext)
}

// packageWindows wraps the built herald.exe (exe, inside o.Out) and the
// sample config into the zip and the MSI, and returns their file names.
func packageWindows(ctx context.Context, o options, exe string, log io.Writer) ([]string, error) {
	conf, err := os.ReadFile(o.WindowsConfig)
	if err != nil {
		return nil, fmt.Errorf("reading the sample config for the Windows packages (-windows-config): %w", err)
	}
	date, _ := time.Parse(time.RFC3339, o.Date) // validated by fill
	zipName := o.windowsName("zip")
	fmt.Fprintf(log, "packaging %s\n", filepath.Join(o.Out, zipName))
	if err := writeZip(filepath.Join(o.Out, zipName), filepath.Join(o.Out, exe), o.Name+".exe", conf, date); err != nil {
		return nil, fmt.Errorf("%s: %w", zipName, err)
	}
	if !o.MSI {
		return []string{zipName}, nil
	}
	msiName := o.windowsName("msi")
	fmt.Fprintf(log, "packaging %s\n", filepath.Join(o.Out, msiName))
	if err := buildMSI(ctx, o, filepath.Join(o.Out, exe), o.WindowsConfig, filepath.Join(o.Out, msiName)); err != nil {
		return nil, fmt.Errorf("%s: %w", msiName, err)
	}
	return []string{zipName, msiName}, nil
}

// writeZip writes the zip: the same layout as the MSI installs, so unpacking
// it at C:\ on a new node gives the same result. Entries are in a fixed order
// with the build date as their time, so the same commit gives the same bytes.
func writeZip(path, exe, exeName string, conf []byte, date time.Time) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw := zip.NewWriter(f)
	add := func(name string, r io.Reader) error {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: date}
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, r)
		return err
	}
	bin, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer bin.Close()
	if err := add(exeDir+"/"+exeName, bin); err != nil {
		return err
	}
	if err := add(confDir+"/herald.toml", bytes.NewReader(conf)); err != nil {
		return err
	}
	return zw.Close()
}

// msiVersion derives the MSI ProductVersion from a release version:
// v1.2.3, 1.2.3, v1.2.3-rc.1 and v1.2.3-4-gabcdef all give 1.2.3. Windows
// Installer wants numbers (major and minor up to 255, build up to 65535) and
// compares only these three when deciding what is an upgrade.
func msiVersion(version string) (string, error) {
	m := semverPrefix.FindStringSubmatch(version)
	if m == nil {
		return "", fmt.Errorf("the MSI needs a version that starts with MAJOR.MINOR.PATCH (like v1.2.3), not %q: tag the commit or pass -version, or pass -msi=false", version)
	}
	limits := []int{255, 255, 65535}
	for i, s := range m[1:] {
		n, err := strconv.Atoi(s)
		if err != nil || n > limits[i] {
			return "", fmt.Errorf("version %q: MSI versions allow at most 255.255.65535", version)
		}
	}
	return m[1] + "." + m[2] + "." + m[3], nil
}

var semverPrefix = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:[-+].*)?$`)

// productCode is the MSI ProductCode of a version: a name-based UUID (RFC
// 9562 version 5) of the UpgradeCode and the full version, so a rebuild of a
// version has the same code and two versions never share one.
func productCode(version string) string {
	h := sha1.Sum([]byte(msiUpgradeCode + "\x00" + version))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// wxs is the installer's WiX source for wixl (Debian's msitools). wixl has
// no NeverOverwrite or Permanent on components; buildMSI sets those
// attributes in the built database.
//
// The MSI does not register the Windows service: herald service install
// does, after the admin has filled in the config, because it checks the
// config first and sets what the MSI's ServiceInstall table cannot (delayed
// start, restart on failure, the event log source). The MSI does stop the
// service once it exists (ServiceControl works on any service by name), so an
// upgrade or uninstall never meets herald.exe in use. It does not remove the
// service: Windows Installer removes the old product first in an upgrade
// (wixl schedules RemoveExistingProducts before InstallInitialize), which
// would drop the service and its environment (the secrets) on every upgrade;
// a custom action conditioned on UPGRADINGPRODUCTCODE would avoid that on
// Windows, but Wine does not set that property, so CI could not test it. The
// admin runs herald service uninstall before msiexec /x instead.
var wxs = template.Must(template.New("wxs").Funcs(template.FuncMap{"xml": xmlEscape}).Parse(`<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="{{.ProductCode}}" Name="Herald" Language="1033" Version="{{.MSIVersion}}"
      Manufacturer="Herald" UpgradeCode="{{.UpgradeCode}}">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine"
        Description="Herald {{xml .Version}}: alerts from Qlik Sense logs" Comments="{{xml .Version}}, commit {{xml .Commit}}"/>
    <MajorUpgrade DowngradeErrorMessage="A newer version of Herald is already installed."/>
    <Media Id="1" Cabinet="herald.cab" EmbedCab="yes"/>
    <Property Id="ARPURLINFOABOUT" Value="https://github.com/heraldhq/herald"/>
    <Property Id="ARPNOMODIFY" Value="1"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Herald">
          <Component Id="HeraldExe" Guid="{{.ExeComponent}}" Win64="yes">
            <File Id="HeraldExe" Name="herald.exe" Source="herald.exe" KeyPath="yes"/>
            <ServiceControl Id="HeraldService" Name="Herald" Stop="both" Wait="yes"/>
          </Component>
        </Directory>
      </Directory>
      <Directory Id="CommonAppDataFolder">
        <Directory Id="CONFIGDIR" Name="Herald">
          <Component Id="HeraldConfig" Guid="{{.ConfComponent}}" Win64="yes">
            <File Id="HeraldToml" Name="herald.toml" Source="herald.toml" KeyPath="yes"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Herald" Title="Herald" Level="1">
      <ComponentRef Id="HeraldExe"/>
      <ComponentRef Id="HeraldConfig"/>
    </Feature>
  </Product>
</Wix>
`))

func xmlEscape(s string) (string, error) {
	var b strings.Builder
	err := xml.EscapeText(&b, []byte(s))
	return b.String(), err
}

// buildMSI builds the MSI at path with wixl, then marks the config component
// permanent and never overwritten with msibuild.
func buildMSI(ctx context.Context, o options, exe, conf, path string) error {
	version, err := msiVersion(o.Version)
	if err != nil {
		return err
	}
	for _, tool := range []string{"wixl", "msibuild"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: install msitools (apt-get install msitools), or pass -msi=false", tool)
		}
	}
	var src bytes.Buffer
	err = wxs.Execute(&src, map[string]string{
		// Upper case, as Windows Installer writes GUIDs and compares them.
		"ProductCode": strings.ToUpper(productCode(o.Version)), "UpgradeCode": strings.ToUpper(msiUpgradeCode),
		"ExeComponent": strings.ToUpper(msiExeComponent), "ConfComponent": strings.ToUpper(msiConfComponent),
		"MSIVersion": version, "Version": o.Version, "Commit": o.Commit,
	})
	if err != nil {
		return err
	}
	// wixl takes sources only relative to its working directory: it builds in
	// a directory that holds the WiX source and copies of the two files.
	tmp, err := os.MkdirTemp("", "herald-msi-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for src, dst := range map[string]string{exe: "herald.exe", conf: "herald.toml"} {
		if err := copyFile(src, filepath.Join(tmp, dst)); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "herald.wxs"), src.Bytes(), 0o644); err != nil {
		return err
	}
	absPath, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if err := tool(ctx, tmp, "wixl", "--arch", "x64", "-o", absPath, "herald.wxs"); err != nil {
		return err
	}
	attrs := msidbComponentAttributes64bit | msidbComponentAttributesNeverOverwrite | msidbComponentAttributesPermanent
	return tool(ctx, tmp, "msibuild", absPath, "-q",
		fmt.Sprintf("UPDATE `Component` SET `Attributes` = %d WHERE `Component` = 'HeraldConfig'", attrs))
}

// tool runs an msitools command; its output (warnings included) becomes
// part of the error when it fails.
func tool(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%s failed: %w\n%s", name, err, bytes.TrimSpace(out))
		}
		return fmt.Errorf("running %s: %w", name, err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
