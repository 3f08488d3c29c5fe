using Breadboard.Fuzz;
using SharpFuzz;

// Breadboard.Fuzz TARGET               run under afl-fuzz (scripts/fuzz.sh): the input comes on stdin, in a loop
// Breadboard.Fuzz TARGET PATH...       replay files (or every file of directories) through the target, e.g. a crash
// Breadboard.Fuzz --list               the target names
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: Breadboard.Fuzz TARGET [FILE|DIR...] | --list");
    return 2;
}

if (args[0] == "--list")
{
    foreach (var name in FuzzTargets.All.Keys)
    {
        Console.WriteLine(name);
    }

    return 0;
}

if (!FuzzTargets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"unknown target '{args[0]}'; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
    return 2;
}

if (args.Length == 1)
{
    // Persistent mode: SharpFuzz's fork server runs the action once per input in this one process. Any exception
    // escaping it is a crash to afl-fuzz; the targets throw only on bugs.
    var buffer = new MemoryStream();
    Fuzzer.Run(stream =>
    {
        buffer.SetLength(0);
        stream.CopyTo(buffer);
        target(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    });
    return 0;
}

var failures = 0;
var files = args.Skip(1).SelectMany<string, string>(path => Directory.Exists(path) ? Directory.GetFiles(path).Order(StringComparer.Ordinal) : [path]);
foreach (var file in files)
{
    try
    {
        target(File.ReadAllBytes(file));
    }
    catch (Exception e)
    {
        failures++;
        Console.WriteLine($"FAIL {file}");
        Console.WriteLine(e);
    }
}

Console.WriteLine(failures == 0 ? "all inputs passed" : $"{failures} input(s) failed");
return failures == 0 ? 0 : 1;
