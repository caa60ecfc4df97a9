using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Gateway.DeploymentTests.Docker;

/// <summary>
/// What can be known about the image without building it: its stages, its user, its entry
/// point, and that everything it copies exists and reaches the build context. Where a Docker
/// engine exists, `docker build .` is the full check (docs/deploy.md).
/// </summary>
public sealed partial class DockerfileTests
{
    private const string GatewayProject = "src/Gateway/Gateway.csproj";

    private static readonly Dockerfile File = Dockerfile.Load(Repository.Path("Dockerfile"));
    private static readonly DockerIgnore Ignore = DockerIgnore.Load(Repository.Path(".dockerignore"));

    [Fact]
    public void Dockerfile_Stages_BuildWithTheSdkAndRunOnTheAspNetRuntime()
    {
        Assert.Equal(2, File.Stages.Count);
        var build = File.Stages[0];
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:", build.BaseImage, StringComparison.Ordinal);
        Assert.Equal("build", build.Name);

        var runtime = File.FinalStage;
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:", runtime.BaseImage, StringComparison.Ordinal);

        // Both images follow one .NET version, and that version is the one global.json pins.
        var arg = File.Instructions.First(i => i.Keyword == "ARG" && i.Text.StartsWith("DOTNET_VERSION=", StringComparison.Ordinal));
        var version = arg.Text["DOTNET_VERSION=".Length..];
        Assert.All(File.Stages, s => Assert.EndsWith(":${DOTNET_VERSION}", s.BaseImage, StringComparison.Ordinal));
        var sdk = System.Text.Json.JsonDocument.Parse(Repository.ReadAllText("global.json")).RootElement.GetProperty("sdk").GetProperty("version").GetString()!;
        Assert.StartsWith(version + ".", sdk, StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerfile_FinalStage_RunsAsANumericNonRootUser()
    {
        var user = File.FinalStage.Last("USER");
        Assert.NotNull(user);
        var parts = user.Arguments.Single().Split(':');

        // Numeric, so Kubernetes' runAsNonRoot can check it without reading the image's /etc/passwd.
        Assert.True(int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var uid), $"USER {user.Text} is not numeric");
        Assert.NotEqual(0, uid);
        if (parts.Length > 1)
        {
            Assert.NotEqual(0, int.Parse(parts[1], CultureInfo.InvariantCulture));
        }

        // Nothing after USER runs as root again.
        var index = File.FinalStage.Instructions.ToList().IndexOf(user);
        Assert.DoesNotContain(File.FinalStage.Instructions.Skip(index + 1), i => i.Keyword is "USER" or "RUN");
    }

    [Fact]
    public void Dockerfile_EntryPoint_IsDotnetGatewayDllWithServeAsTheDefault()
    {
        var entryPoint = File.FinalStage.Last("ENTRYPOINT");
        Assert.NotNull(entryPoint);
        Assert.True(entryPoint.IsJsonForm, "ENTRYPOINT must be exec form, so the process gets SIGTERM directly");
        Assert.Equal(["dotnet", "gateway.dll"], entryPoint.Arguments);
        Assert.Equal("/app", File.FinalStage.Last("WORKDIR")?.Text);

        // gateway.dll is what the published project produces.
        var project = XDocument.Load(Repository.Path(GatewayProject));
        Assert.Equal("gateway", project.Descendants("AssemblyName").Single().Value);

        var cmd = File.FinalStage.Last("CMD");
        Assert.NotNull(cmd);
        Assert.True(cmd.IsJsonForm);
        Assert.Equal("serve", cmd.Arguments[0]);
        Assert.Equal("/etc/gateway/gateway.yaml", ValueAfter(cmd.Arguments, "--config"));
        Assert.Equal("http://0.0.0.0:8080", ValueAfter(cmd.Arguments, "--urls"));
        Assert.Equal("http://0.0.0.0:9901", ValueAfter(cmd.Arguments, "--admin-urls"));
    }

    [Fact]
    public void Dockerfile_Expose_ListsEveryPortTheDefaultCommandListensOn()
    {
        var exposed = File.FinalStage.All("EXPOSE").SelectMany(e => e.Arguments).Select(p => p.Split('/')[0]).ToHashSet();
        var cmd = File.FinalStage.Last("CMD")!;
        foreach (var url in new[] { ValueAfter(cmd.Arguments, "--urls"), ValueAfter(cmd.Arguments, "--admin-urls") })
        {
            Assert.Contains(new Uri(url!).Port.ToString(CultureInfo.InvariantCulture), exposed);
        }
    }

    [Fact]
    public void Dockerfile_EveryCopySource_ExistsInTheRepositoryAndReachesTheBuildContext()
    {
        var copies = File.Instructions.Where(i => i.Keyword is "COPY" or "ADD" && !i.Flags.ContainsKey("from")).ToList();
        Assert.NotEmpty(copies);
        foreach (var copy in copies)
        {
            Assert.False(copy.Keyword == "ADD", $"{copy}: use COPY; ADD also fetches URLs and unpacks archives");
            foreach (var source in copy.Arguments.SkipLast(1))
            {
                var path = Repository.Path(source.TrimEnd('/'));
                Assert.True(System.IO.File.Exists(path) || Directory.Exists(path), $"{copy}: '{source}' does not exist in the repository");
                Assert.False(Ignore.IsExcluded(source), $"{copy}: '{source}' is excluded by .dockerignore");

                // For a folder, every file that is not build output must reach the context too.
                if (Directory.Exists(path))
                {
                    var missing = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                        .Select(f => Path.GetRelativePath(Repository.Root, f).Replace('\\', '/'))
                        .Where(f => !IsBuildOutput(f) && Ignore.IsExcluded(f))
                        .ToList();
                    Assert.True(missing.Count == 0, $"{copy}: .dockerignore leaves out {string.Join(", ", missing)}");
                }
            }
        }
    }

    [Fact]
    public void Dockerfile_RestoreLayer_CopiesOnlyProjectFilesAndEveryProjectTheGatewayReferences()
    {
        var build = File.Stages[0].Instructions;
        var restore = build.ToList().FindIndex(i => i.Keyword == "RUN" && i.Text.StartsWith("dotnet restore", StringComparison.Ordinal));
        Assert.True(restore > 0, "the build stage restores in a RUN of its own, before the sources are copied");

        var copiedBeforeRestore = build.Take(restore)
            .Where(i => i.Keyword == "COPY")
            .SelectMany(i => i.Arguments.SkipLast(1))
            .ToList();

        // Only the files restore reads, so a source edit does not invalidate the package layer.
        Assert.All(copiedBeforeRestore, source => Assert.Matches(RestoreInputs(), source));

        var needed = ProjectClosure(GatewayProject).Select(p => Path.GetRelativePath(Repository.Root, p).Replace('\\', '/')).Order(StringComparer.Ordinal);
        Assert.Equal(needed, copiedBeforeRestore.Where(s => s.EndsWith(".csproj", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Contains("Directory.Packages.props", copiedBeforeRestore);
        Assert.Contains("Directory.Build.props", copiedBeforeRestore);
        Assert.Contains("global.json", copiedBeforeRestore);
    }

    [Fact]
    public void Dockerfile_Publish_IsTheGatewayProjectInReleaseNeverTheTests()
    {
        var runs = File.Stages[0].All("RUN").Select(r => r.Text).ToList();
        var publish = Assert.Single(runs, r => r.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.Contains($"dotnet publish {GatewayProject}", publish, StringComparison.Ordinal);
        Assert.Contains("--configuration Release", publish, StringComparison.Ordinal);
        Assert.Contains("--output /app", publish, StringComparison.Ordinal);
        Assert.True(System.IO.File.Exists(Repository.Path(GatewayProject)));

        Assert.DoesNotContain(File.Instructions, i => i.Text.Contains("tests/", StringComparison.Ordinal) || i.Text.Contains("dotnet test", StringComparison.Ordinal));
        Assert.DoesNotContain(File.Instructions, i => i.Keyword == "COPY" && i.Arguments.Contains("."));
    }

    [Fact]
    public void Dockerfile_RuntimeStage_NeedsNoWritableRootFilesystem()
    {
        var env = File.FinalStage.All("ENV").SelectMany(e => Dockerfile.EnvVariables(e)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

        // The runtime's diagnostics would create an IPC socket and debugger pipes in /tmp at start.
        Assert.Equal("0", env.GetValueOrDefault("DOTNET_EnableDiagnostics"));

        // The application files are owned by root: the process (UID 64198) cannot change them.
        var appCopy = Assert.Single(File.FinalStage.All("COPY"), c => c.Arguments[^1] == "/app");
        Assert.False(appCopy.Flags.ContainsKey("chown"), "the application files must not belong to the user that runs them");

        // The one folder it writes to exists and belongs to that user.
        var auditCopy = Assert.Single(File.FinalStage.All("COPY"), c => c.Arguments[^1] == "/var/lib/gateway");
        Assert.Equal(File.FinalStage.Last("USER")!.Arguments.Single(), auditCopy.Flags["chown"]);
        Assert.Empty(File.FinalStage.All("RUN"));
    }

    [Fact]
    public void Dockerfile_HoldsNoSecrets()
    {
        foreach (var instruction in File.Instructions.Where(i => i.Keyword is "ENV" or "ARG" or "LABEL"))
        {
            var names = instruction.Keyword is "ENV" or "LABEL"
                ? Dockerfile.EnvVariables(instruction).Keys
                : instruction.Arguments.Select(a => a.Split('=')[0]);
            foreach (var name in names)
            {
                Assert.DoesNotMatch(SecretName(), name);
            }
        }

        Assert.DoesNotContain(File.Instructions, i => i.Keyword == "COPY" && i.Arguments.Any(a => SecretFile().IsMatch(a)));
    }

    [Fact]
    public void DockerIgnore_LeavesOutBuildOutputTestsGitAndKeys()
    {
        foreach (var path in new[] { "src/Gateway/bin/Release/net10.0/gateway.dll", "src/Gateway.Core/obj/project.assets.json", "tests/Gateway.Tests/Gateway.Tests.csproj", ".git/config", "docs/deploy.md", "charts/gateway/values.yaml", "config/keys/demo-private.jwk", "src/Gateway/signing.jwk" })
        {
            Assert.True(Ignore.IsExcluded(path), $".dockerignore should leave out {path}");
        }

        foreach (var path in new[] { "src/Gateway/Program.cs", "src/Gateway.Redis/Budgets/ChargeScript.cs", "Directory.Packages.props", "global.json", ".editorconfig" })
        {
            Assert.False(Ignore.IsExcluded(path), $".dockerignore should keep {path}");
        }
    }

    private static string? ValueAfter(IReadOnlyList<string> arguments, string option)
    {
        var list = arguments.ToList();
        var index = list.IndexOf(option);
        return index >= 0 && index + 1 < list.Count ? list[index + 1] : null;
    }

    private static bool IsBuildOutput(string path) => path.Split('/').Any(s => s is "bin" or "obj");

    /// <summary>The project and every project it references, directly or not, as absolute paths.</summary>
    private static HashSet<string> ProjectClosure(string relativeProject)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.GetFullPath(Repository.Path(relativeProject))]);
        while (pending.TryPop(out var project))
        {
            if (!seen.Add(project))
            {
                continue;
            }

            foreach (var reference in XDocument.Load(project).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', Path.DirectorySeparatorChar);
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, include)));
            }
        }

        return seen;
    }

    [GeneratedRegex(@"^(global\.json|Directory\.(Build|Packages)\.props|\.editorconfig|src/[A-Za-z.]+/[A-Za-z.]+\.csproj)$")]
    private static partial Regex RestoreInputs();

    [GeneratedRegex("(?i)(password|secret|token|api_?key|private|credential)")]
    private static partial Regex SecretName();

    [GeneratedRegex(@"(?i)\.(jwk|pem|key|pfx|p12)$|\.env$|id_rsa")]
    private static partial Regex SecretFile();
}
