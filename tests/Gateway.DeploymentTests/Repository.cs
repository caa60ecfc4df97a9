namespace Gateway.DeploymentTests;

/// <summary>Finds files in the repository checkout the tests run from.</summary>
internal static class Repository
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The folder that holds Gateway.sln.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>A path inside the repository, written with '/' as in the Dockerfile and the chart.</summary>
    public static string Path(string relative) =>
        System.IO.Path.Combine(Root, relative.Replace('/', System.IO.Path.DirectorySeparatorChar));

    public static string ReadAllText(string relative) => File.ReadAllText(Path(relative));

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(folder.FullName, "Gateway.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No Gateway.sln above {AppContext.BaseDirectory}: run the tests from a checkout.");
    }
}
