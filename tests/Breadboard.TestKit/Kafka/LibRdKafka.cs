using System.Reflection;
using System.Runtime.InteropServices;

namespace Breadboard.TestKit.Kafka;

/// <summary>The few librdkafka functions the mock cluster needs, bound to the native file Confluent.Kafka loaded.</summary>
/// <remarks>
/// Signatures follow librdkafka's <c>src/rdkafka.h</c> and <c>src/rdkafka_mock.h</c>. The mock API is experimental
/// and outside librdkafka's ABI guarantees: re-check these when Confluent.Kafka (and so librdkafka.redist) moves.
/// Returned <c>const char*</c> are owned by librdkafka, so they come back as pointers and are never freed here.
/// </remarks>
internal static partial class LibRdKafka
{
    // Not "librdkafka": a bare name would make the runtime probe on its own and pick runtimes/.../librdkafka.so,
    // which needs libsasl2.so.3 and fails on machines without it, where Confluent.Kafka falls back to another file.
    private const string Library = "breadboard-librdkafka";

    public const int Producer = 0; // RD_KAFKA_PRODUCER in rd_kafka_type_t
    public const int ConfOk = 0; // RD_KAFKA_CONF_OK in rd_kafka_conf_res_t
    public const int NoError = 0; // RD_KAFKA_RESP_ERR_NO_ERROR in rd_kafka_resp_err_t

    private static readonly Lazy<string?> Resolver = new(RegisterResolver);

    /// <summary>Makes the P/Invokes below bind to Confluent.Kafka's librdkafka; call before the first of them.</summary>
    /// <returns>The file they bind to, or null off Linux, where the runtime finds the package's library by name.</returns>
    public static string? EnsureLoaded() => Resolver.Value;

    // rd_kafka_conf_t *rd_kafka_conf_new(void);
    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_new")]
    public static partial nint ConfNew();

    // rd_kafka_conf_res_t rd_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
    //                                       char *errstr, size_t errstr_size);
    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_set", StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int ConfSet(nint conf, string name, string value, byte* errstr, nuint errstrSize);

    // void rd_kafka_conf_destroy(rd_kafka_conf_t *conf);
    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_destroy")]
    public static partial void ConfDestroy(nint conf);

    // rd_kafka_t *rd_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errstr, size_t errstr_size);
    // Takes ownership of conf only when it succeeds.
    [LibraryImport(Library, EntryPoint = "rd_kafka_new")]
    public static unsafe partial nint New(int type, nint conf, byte* errstr, nuint errstrSize);

    // void rd_kafka_destroy(rd_kafka_t *rk);
    [LibraryImport(Library, EntryPoint = "rd_kafka_destroy")]
    public static partial void Destroy(nint rk);

    // const char *rd_kafka_err2str(rd_kafka_resp_err_t err);
    [LibraryImport(Library, EntryPoint = "rd_kafka_err2str")]
    public static partial nint Err2Str(int err);

    // rd_kafka_mock_cluster_t *rd_kafka_mock_cluster_new(rd_kafka_t *rk, int broker_cnt);
    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_new")]
    public static partial nint MockClusterNew(nint rk, int brokerCount);

    // void rd_kafka_mock_cluster_destroy(rd_kafka_mock_cluster_t *mcluster);
    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_destroy")]
    public static partial void MockClusterDestroy(nint cluster);

    // const char *rd_kafka_mock_cluster_bootstraps(const rd_kafka_mock_cluster_t *mcluster);
    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_bootstraps")]
    public static partial nint MockClusterBootstraps(nint cluster);

    // rd_kafka_resp_err_t rd_kafka_mock_topic_create(rd_kafka_mock_cluster_t *mcluster, const char *topic,
    //                                                int partition_cnt, int replication_factor);
    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_topic_create", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MockTopicCreate(nint cluster, string topic, int partitionCount, int replicationFactor);

    // rd_kafka_resp_err_t rd_kafka_mock_broker_set_down(rd_kafka_mock_cluster_t *mcluster, int32_t broker_id);
    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_down")]
    public static partial int MockBrokerSetDown(nint cluster, int brokerId);

    // rd_kafka_resp_err_t rd_kafka_mock_broker_set_up(rd_kafka_mock_cluster_t *mcluster, int32_t broker_id);
    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_up")]
    public static partial int MockBrokerSetUp(nint cluster, int brokerId);

    public static string ErrorText(int err) => Marshal.PtrToStringUTF8(Err2Str(err)) ?? $"error {err}";

    /// <summary>The path of the librdkafka file Confluent.Kafka loaded into this process, or null if none is found.</summary>
    public static string? FindLoadedPath()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        // Lines look like "7f..-7f.. r-xp 00000000 08:01 1234   /path/runtimes/linux-x64/native/centos8-librdkafka.so".
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                continue;
            }

            var path = line[slash..];
            var name = Path.GetFileName(path);
            if (name.Contains("librdkafka", StringComparison.Ordinal) && name.Contains(".so", StringComparison.Ordinal) && File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    private static string? RegisterResolver()
    {
        // Reading the version makes Confluent.Kafka load librdkafka with its own fallbacks.
        _ = Confluent.Kafka.Library.VersionString;
        var path = FindLoadedPath();
        if (path is null && OperatingSystem.IsLinux())
        {
            throw new InvalidOperationException(
                $"Confluent.Kafka reports librdkafka {Confluent.Kafka.Library.VersionString}, but no librdkafka*.so appears in /proc/self/maps.");
        }

        NativeLibrary.SetDllImportResolver(typeof(LibRdKafka).Assembly, (name, assembly, searchPath) => Resolve(name, assembly, searchPath, path));
        return path;
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath, string? loadedPath)
    {
        if (name != Library)
        {
            return 0;
        }

        // Off Linux there are no /proc maps; let the runtime probe the package's native assets by their usual name.
        return loadedPath is not null
            ? NativeLibrary.Load(loadedPath)
            : NativeLibrary.Load("librdkafka", assembly, searchPath);
    }
}
