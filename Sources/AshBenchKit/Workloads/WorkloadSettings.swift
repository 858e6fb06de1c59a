/// What every worker of one timed part shares.
package struct WorkloadSettings: Sendable {
    /// The TTL of contexts created during the timed part, in ms.
    package var ttlMilliseconds: Int64
    /// Replays after each consume in `replay`.
    package var replays: Int
    /// The request `flow` sends.
    package var request: FlowRequest
    /// Operations a worker sends together (pipelined) in the workloads
    /// that pipeline (``Workload/pipelines``); 1 sends them one by one.
    package var pipelineDepth: Int

    package init(ttlMilliseconds: Int64, replays: Int, request: FlowRequest, pipelineDepth: Int = 1) {
        self.ttlMilliseconds = ttlMilliseconds
        self.replays = replays
        self.request = request
        self.pipelineDepth = max(1, pipelineDepth)
    }
}
