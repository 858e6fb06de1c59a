/// What every worker of one timed part shares.
public struct WorkloadSettings: Sendable {
    /// The TTL of contexts created during the timed part, in ms.
    public var ttlMilliseconds: Int64
    /// Replays after each consume in `replay`.
    public var replays: Int
    /// The request `flow` sends.
    public var request: FlowRequest
    /// Operations a worker sends together (pipelined) in the workloads
    /// that pipeline (``Workload/pipelines``); 1 sends them one by one.
    public var pipelineDepth: Int

    public init(ttlMilliseconds: Int64, replays: Int, request: FlowRequest, pipelineDepth: Int = 1) {
        self.ttlMilliseconds = ttlMilliseconds
        self.replays = replays
        self.request = request
        self.pipelineDepth = max(1, pipelineDepth)
    }
}
