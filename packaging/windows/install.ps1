<#
.SYNOPSIS
  Installs idsync on Windows: the binary, a config file to fill in, and the
  Windows service, the way the Yandex Identity Hub sync agent's install.ps1
  does. The service is registered but not started.

.DESCRIPTION
  Run from an elevated PowerShell in the folder that holds the release files
  (idsync-VERSION-windows-amd64.exe or -arm64.exe, SHA256SUMS and
  config.example.yaml):

    .\install.ps1                                   # LocalSystem
    .\install.ps1 -User 'CORP\svc-idsync$'          # a gMSA (recommended)
    .\install.ps1 -User 'CORP\svc-idsync' -Start manual

  It installs
    C:\Program Files\idsync\idsync.exe              (checked against SHA256SUMS)
    C:\ProgramData\idsync\config.yaml               (kept when it exists; readable
                                                     only by SYSTEM, Administrators
                                                     and the service account)
    the service "idsync" (delayed automatic start, restart on failure) and its
    Application event log source "idsync"; logs go to
    C:\ProgramData\idsync\idsync.log unless the config names a file.

  Then edit the config, check it and start the service:
    & 'C:\Program Files\idsync\idsync.exe' check --config C:\ProgramData\idsync\config.yaml
    Start-Service idsync
#>
[CmdletBinding()]
param(
    # The account the service runs as: a gMSA (DOMAIN\name$, no password)
    # or a domain account (its password is asked for). Default: LocalSystem.
    [string]$User = "",
    # auto, delayed, manual or disabled.
    [ValidateSet("auto", "delayed", "manual", "disabled")]
    [string]$Start = "delayed",
    # The folder holding the release files. Default: this script's folder.
    [string]$From = $PSScriptRoot
)
$ErrorActionPreference = "Stop"

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw "Run this script from an elevated PowerShell (Run as administrator)."
}

$arch = if ($env:PROCESSOR_ARCHITECTURE -eq "ARM64") { "arm64" } else { "amd64" }
$exe = Get-ChildItem -Path $From -Filter "idsync-*-windows-$arch.exe" | Sort-Object Name | Select-Object -Last 1
if (-not $exe) { throw "No idsync-*-windows-$arch.exe in ${From}." }

# Verify the binary against SHA256SUMS when it is there.
$sums = Join-Path $From "SHA256SUMS"
if (Test-Path $sums) {
    $line = Get-Content $sums | Where-Object { $_ -match ("\s\*?" + [regex]::Escape($exe.Name) + "$") } | Select-Object -First 1
    if (-not $line) { throw "$($exe.Name) is not listed in SHA256SUMS." }
    $want = ($line -split "\s+")[0].ToLower()
    $got = (Get-FileHash -Algorithm SHA256 $exe.FullName).Hash.ToLower()
    if ($want -ne $got) { throw "SHA-256 of $($exe.Name) is $got, SHA256SUMS says $want." }
} else {
    Write-Warning "No SHA256SUMS in ${From}: the binary is not verified."
}

$binDir = Join-Path $env:ProgramFiles "idsync"
$dataDir = Join-Path $env:ProgramData "idsync"
$bin = Join-Path $binDir "idsync.exe"
$config = Join-Path $dataDir "config.yaml"
New-Item -ItemType Directory -Force -Path $binDir, $dataDir | Out-Null

if (Get-Service -Name idsync -ErrorAction SilentlyContinue) {
    Stop-Service -Name idsync -ErrorAction SilentlyContinue
    & $bin service uninstall --config $config
}
Copy-Item -Force $exe.FullName $bin

if (-not (Test-Path $config)) {
    $example = Join-Path $From "config.example.yaml"
    if (-not (Test-Path $example)) { throw "No config.example.yaml in ${From}." }
    # Relative paths resolve against the config's folder: the state goes
    # to C:\ProgramData\idsync\state. Windows paths in the config: 'C:\path'
    # in single quotes, or C:/path.
    Copy-Item $example $config
}

# The config holds secrets: SYSTEM, Administrators and the service account only.
$acl = New-Object Security.AccessControl.FileSecurity
$acl.SetAccessRuleProtection($true, $false)
$readers = @("NT AUTHORITY\SYSTEM", "BUILTIN\Administrators")
if ($User) { $readers += $User }
foreach ($who in $readers) {
    $rights = if ($who -eq $User) { "Read" } else { "FullControl" }
    $acl.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule($who, $rights, "Allow")))
}
Set-Acl -Path $config -AclObject $acl
if ($User) {
    # The service account writes its state and log under ProgramData\idsync.
    $dirAcl = Get-Acl $dataDir
    $dirAcl.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule($User, "Modify", "ContainerInherit,ObjectInherit", "None", "Allow")))
    Set-Acl -Path $dataDir -AclObject $dirAcl
}

$svcArgs = @("service", "install", "--start", $Start, "--config", $config)
$userArgs = if ($User) { " --user '$User'" } else { "" }
# service install refuses a config that could not start: a new one from the
# template is filled in first.
& $bin check --offline --config $config | Out-Null
if ($LASTEXITCODE -ne 0) {
    Write-Host "idsync installed: $bin, config $config (a template: fill it in)."
    Write-Host "Then check it and install the service:"
    Write-Host "  & '$bin' check --config $config"
    Write-Host "  & '$bin' service install --start $Start$userArgs --config $config"
    Write-Host "  Start-Service idsync"
    exit 0
}
if ($User) {
    $svcArgs += @("--user", $User)
    if (-not $User.EndsWith('$')) {
        $cred = Get-Credential -UserName $User -Message "Password of the service account $User"
        $env:IDSYNC_SERVICE_PASSWORD = $cred.GetNetworkCredential().Password
    }
}
try {
    & $bin @svcArgs
    if ($LASTEXITCODE -ne 0) { throw "idsync service install failed (exit $LASTEXITCODE)." }
} finally {
    Remove-Item Env:\IDSYNC_SERVICE_PASSWORD -ErrorAction SilentlyContinue
}

Write-Host "idsync installed: $bin, config $config, service idsync (not started)."
Write-Host "Edit the config, then:"
Write-Host "  & '$bin' check --config $config"
Write-Host "  Start-Service idsync"
