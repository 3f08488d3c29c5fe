namespace Breadboard.TestKit;

/// <summary>The repository the tests run in, for tests that read its files (manifests, docs, sources).</summary>
public static class Repository
{
    /// <summary>The directory above the test binaries that holds Breadboard.slnx.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Breadboard.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Breadboard.slnx above {AppContext.BaseDirectory}");
    }
}
