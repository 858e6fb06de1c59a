import AshStore
import Testing

@testable import AshRedis

@Suite struct RedisClusterConfigurationTests {
    @Test func readsAClusterURL() throws {
        let configuration = try RedisConfiguration(
            url: "redis+cluster://ash:s%2Cecret@10.0.0.1:7000,10.0.0.2:7001,[::1]")
        #expect(configuration.isCluster)
        #expect(
            configuration.clusterNodes == [
                RedisServerAddress(host: "10.0.0.1", port: 7000), RedisServerAddress(host: "10.0.0.2", port: 7001),
                RedisServerAddress(host: "::1", port: 6379),
            ])
        #expect(configuration.username == "ash")
        #expect(configuration.password == "s,ecret")
        #expect(configuration.tls == nil)
        #expect(configuration.description == "redis+cluster://ash:***@10.0.0.1:7000,10.0.0.2:7001,[::1]:6379")
        #expect(try RedisConfiguration(url: "rediss+cluster://h:1").tls != nil)
        #expect(try RedisConfiguration(url: "redis+cluster://h:1").clusterNodes.count == 1)
    }

    @Test func readsTheConsumeReplicaOptions() throws {
        let configuration = try RedisConfiguration(
            url: "redis://h:1?consume_replicas=1&consume_replica_timeout_ms=200")
        #expect(configuration.consumeReplicas == 1)
        #expect(configuration.consumeReplicaTimeout == .milliseconds(200))
        #expect(!configuration.isCluster)
        #expect(configuration.description == "redis://h:1?consume_replicas=1&consume_replica_timeout_ms=200")
        #expect(try RedisConfiguration(url: "redis+cluster://h:1?consume_replicas=2").consumeReplicas == 2)
    }

    @Test(arguments: [
        "redis://a:1,b:2",
        "redis+cluster://",
        "redis+cluster://a:1,",
        "redis+cluster://a:1,,b:2",
        "redis+cluster://a:1,b:0",
        "redis+cluster://a:1,b:2/3",
        "redis+cluster://a:1,b/x:2",
        "redis+cluster://a:1?consume_replicas=-1",
        "redis+cluster://a:1?consume_replicas=17",
        "redis+cluster://a:1?consume_replicas=x",
        "redis+cluster://a:1?consume_replicas=1&consume_replica_timeout_ms=0",
        "redis+cluster://a:1?consume_replicas=1&consume_replica_timeout_ms=5000",
        "redis+cluster://a:1?consume_replica_timeout_ms=99999999999999999999",
        "redis+cluster://a:1?wait=1",
        "redis+clusters://a:1",
        "redis+cluster://" + (0..<65).map { "h\($0):1" }.joined(separator: ","),
    ])
    func rejectsBadClusterURLs(_ url: String) {
        #expect {
            _ = try RedisConfiguration(url: url)
        } throws: { error in
            (error as? ContextStoreError)?.code == .invalidArgument
        }
    }

    @Test func readsREDIS_CLUSTER_NODES() throws {
        let configuration = try RedisConfiguration(environment: [
            "REDIS_CLUSTER_NODES": "10.0.0.1:7000, 10.0.0.2:7001", "REDIS_PASSWORD": "pw", "REDIS_TLS": "true",
            "REDIS_HOST": "ignored",
        ])
        #expect(
            configuration.clusterNodes == [
                RedisServerAddress(host: "10.0.0.1", port: 7000), RedisServerAddress(host: "10.0.0.2", port: 7001),
            ])
        #expect(configuration.password == "pw")
        #expect(configuration.tls != nil)
        for bad in ["h:0", "h:x", "user@h:1", "h:1/2", ",", "h:1,h:99999"] {
            #expect(throws: ContextStoreError.self, "\(bad)") {
                try RedisConfiguration(environment: ["REDIS_CLUSTER_NODES": bad])
            }
        }
    }

    @Test func validatesClusterFields() {
        var configuration = RedisConfiguration(clusterNodes: [RedisServerAddress(host: "h", port: 1)])
        configuration.database = 1
        #expect(throws: ContextStoreError.self) { try configuration.validate() }
        configuration.database = 0
        configuration.clusterNodes = [RedisServerAddress(host: "", port: 1)]
        #expect(throws: ContextStoreError.self) { try configuration.validate() }
        configuration.clusterNodes = [RedisServerAddress(host: "h", port: 1)]
        configuration.clusterRefreshInterval = .milliseconds(10)
        #expect(throws: ContextStoreError.self) { try configuration.validate() }
        configuration.clusterRefreshInterval = .seconds(30)
        #expect(throws: Never.self) { try configuration.validate() }
        // The replica timeout matters only to consumes that wait.
        configuration.commandTimeout = .milliseconds(100)
        #expect(throws: Never.self) { try configuration.validate() }
        configuration.consumeReplicas = 1
        #expect(throws: ContextStoreError.self) { try configuration.validate() }
        configuration.consumeReplicaTimeout = .milliseconds(50)
        #expect(throws: Never.self) { try configuration.validate() }
    }
}

@Suite struct RedisClusterNodeConfigurationTests {
    @Test func everyNodeGetsTheSameCredentialsAndTLS() throws {
        let configuration = try RedisConfiguration(url: "rediss+cluster://ash:pw@a:7000,b:7001?consume_replicas=1")
        let node = configuration.node(RedisServerAddress(host: "10.1.2.3", port: 7005))
        #expect(node.host == "10.1.2.3" && node.port == 7005)
        #expect(node.username == "ash" && node.password == "pw")
        #expect(node.tls != nil)
        #expect(!node.isCluster)
        #expect(node.commandTimeout == configuration.commandTimeout)
        #expect(node.connectionCount == configuration.connectionCount)
    }
}
