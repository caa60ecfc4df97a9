using Gateway.Policy;

namespace Gateway.Upstreams;

/// <summary>
/// What <c>gateway validate</c> checks of the secret files a policy names (<c>value_file</c>, <c>client_secret_file</c>,
/// <c>signing_key_file</c>, <c>key_file</c>): each exists, can be read, and is not readable by every user. The
/// policy loader leaves this out on purpose: a policy is valid before its secrets are mounted, and a missing file
/// at run time is a 503 for that upstream, not a refused reload.
/// </summary>
public static class SecretFileCheck
{
    public static IReadOnlyList<PolicyError> Check(GatewayPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var errors = new List<PolicyError>();
        foreach (var (name, upstream) in policy.Upstreams.OrderBy(u => u.Key, StringComparer.Ordinal))
        {
            if (upstream.Auth is not { } auth)
            {
                continue;
            }

            foreach (var (key, path) in auth.SecretFiles)
            {
                if (Problem(path) is { } problem)
                {
                    errors.Add(new PolicyError(auth.Location, $"upstreams.{name}.auth.{auth.Kind}.{key}: '{path}' {problem}"));
                }
            }
        }

        return errors;
    }

    private static string? Problem(string path)
    {
        FileInfo file;
        try
        {
            file = new FileInfo(path);
            if (!file.Exists)
            {
                return Directory.Exists(path) ? "is a folder, not a file" : "does not exist";
            }

            using var stream = file.OpenRead();
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return $"cannot be read by this user ({e.GetType().Name})";
        }

        // A Kubernetes Secret volume's files are links into a hidden folder: the mode that matters is the target's.
        if (!OperatingSystem.IsWindows())
        {
            var target = file.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? file;
            if ((target.UnixFileMode & UnixFileMode.OtherRead) != 0)
            {
                return $"is readable by every user (mode {Convert.ToString((int)target.UnixFileMode, 8).PadLeft(4, '0')}); make it 0600 or 0640 (chmod o-r), or mount the Secret with defaultMode 0440";
            }
        }

        return null;
    }
}
