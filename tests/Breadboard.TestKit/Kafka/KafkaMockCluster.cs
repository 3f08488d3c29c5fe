using System.Runtime.InteropServices;

namespace Breadboard.TestKit.Kafka;

/// <summary>librdkafka's built-in mock Kafka cluster, hosted in this process, that ordinary Confluent.Kafka clients connect to.</summary>
/// <remarks>
/// The brokers listen on 127.0.0.1 on ports the OS picks; <see cref="BootstrapServers"/> lists them. The mock keeps
/// data in memory and trims each partition's log past 100,000 record batches or 5 MiB. It accepts transactions but does
/// not emulate them, and taking a broker down does not move partition leadership. Dispose it: its listeners and threads
/// live until then (a process that exits frees them too).
/// </remarks>
public sealed class KafkaMockCluster : IDisposable
{
    private readonly Lock _gate = new();
    private nint _handle;
    private nint _cluster;

    private KafkaMockCluster(nint handle, nint cluster, int brokers, string bootstrapServers)
    {
        _handle = handle;
        _cluster = cluster;
        Brokers = brokers;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>The brokers' addresses, "127.0.0.1:PORT,127.0.0.1:PORT,...", for <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers { get; }

    /// <summary>How many brokers the cluster has; their ids run from 1 to this number.</summary>
    public int Brokers { get; }

    /// <summary>Starts a cluster of <paramref name="brokers"/> brokers.</summary>
    public static KafkaMockCluster Start(int brokers = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        LibRdKafka.EnsureLoaded();

        var handle = NewHandle();
        var cluster = LibRdKafka.MockClusterNew(handle, brokers);
        if (cluster == 0)
        {
            LibRdKafka.Destroy(handle);
            throw new InvalidOperationException($"rd_kafka_mock_cluster_new could not start {brokers} mock broker(s).");
        }

        var bootstraps = Marshal.PtrToStringUTF8(LibRdKafka.MockClusterBootstraps(cluster));
        if (string.IsNullOrEmpty(bootstraps))
        {
            LibRdKafka.MockClusterDestroy(cluster);
            LibRdKafka.Destroy(handle);
            throw new InvalidOperationException("rd_kafka_mock_cluster_bootstraps returned no addresses.");
        }

        return new KafkaMockCluster(handle, cluster, brokers, bootstraps);
    }

    /// <summary>Creates a topic; it fails if the topic exists (also if a client auto-created it by using it first).</summary>
    public void CreateTopic(string name, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, Brokers);
        lock (_gate)
        {
            ThrowIfFailed(LibRdKafka.MockTopicCreate(Cluster(), name, partitions, replicationFactor), $"create topic '{name}'");
        }
    }

    /// <summary>Disconnects broker <paramref name="brokerId"/> (1-based) and refuses new connections to it until <see cref="BrokerUp"/>.</summary>
    public void BrokerDown(int brokerId)
    {
        ThrowIfUnknownBroker(brokerId);
        lock (_gate)
        {
            ThrowIfFailed(LibRdKafka.MockBrokerSetDown(Cluster(), brokerId), $"take broker {brokerId} down");
        }
    }

    /// <summary>Makes broker <paramref name="brokerId"/> (1-based) accept connections again.</summary>
    public void BrokerUp(int brokerId)
    {
        ThrowIfUnknownBroker(brokerId);
        lock (_gate)
        {
            ThrowIfFailed(LibRdKafka.MockBrokerSetUp(Cluster(), brokerId), $"bring broker {brokerId} up");
        }
    }

    /// <summary>Stops the brokers, dropping their data and connections.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_cluster != 0)
            {
                LibRdKafka.MockClusterDestroy(_cluster);
                _cluster = 0;
            }

            if (_handle != 0)
            {
                LibRdKafka.Destroy(_handle);
                _handle = 0;
            }
        }
    }

    private static unsafe nint NewHandle()
    {
        const int ErrorSize = 512;
        var error = stackalloc byte[ErrorSize];
        var conf = LibRdKafka.ConfNew();

        // The handle only keeps the mock's books and never connects anywhere; without bootstrap servers it would
        // log a notice saying so on every start.
        if (LibRdKafka.ConfSet(conf, "client.id", "breadboard-kafka-mock", error, ErrorSize) != LibRdKafka.ConfOk
            || LibRdKafka.ConfSet(conf, "log_level", "4", error, ErrorSize) != LibRdKafka.ConfOk)
        {
            LibRdKafka.ConfDestroy(conf);
            throw new InvalidOperationException($"rd_kafka_conf_set failed: {Marshal.PtrToStringUTF8((nint)error)}");
        }

        var handle = LibRdKafka.New(LibRdKafka.Producer, conf, error, ErrorSize);
        if (handle == 0)
        {
            LibRdKafka.ConfDestroy(conf);
            throw new InvalidOperationException($"rd_kafka_new failed: {Marshal.PtrToStringUTF8((nint)error)}");
        }

        return handle;
    }

    private static void ThrowIfFailed(int err, string what)
    {
        if (err != LibRdKafka.NoError)
        {
            throw new InvalidOperationException($"Kafka mock cluster could not {what}: {LibRdKafka.ErrorText(err)}");
        }
    }

    private void ThrowIfUnknownBroker(int brokerId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokerId, Brokers);
    }

    private nint Cluster()
    {
        ObjectDisposedException.ThrowIf(_cluster == 0, this);
        return _cluster;
    }
}
