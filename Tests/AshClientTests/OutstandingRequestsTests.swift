import NIOCore
import Testing

@testable import AshClient

@Suite struct OutstandingRequestsTests {
    let start = NIODeadline.uptimeNanoseconds(1_000)

    @Test func repliesInAnyOrderAreTakenOnceAndTheFrontShrinks() {
        var requests = OutstandingRequests<String>()
        let a = requests.add("a", deadline: start)
        let b = requests.add("b", deadline: start)
        let c = requests.add("c", deadline: start)
        #expect([a, b, c] == [a, a + 1, a + 2])
        #expect(requests.take(b) == "b")
        #expect(requests.take(b) == nil, "taken twice")
        #expect(requests.take(a) == "a")
        #expect(requests.take(c + 1) == nil, "a token never handed out")
        #expect(requests.take(c) == "c")
        #expect(requests.isEmpty)
        #expect(requests.take(a) == nil, "a token from before the front")
        let d = requests.add("d", deadline: start)
        #expect(d == c + 1)
        #expect(requests.take(d) == "d")
    }

    @Test func overdueRequestsLeaveOldestFirstAndOnlyWhenDue() {
        var requests = OutstandingRequests<String>()
        let first = requests.add("first", deadline: start)
        _ = requests.add("second", deadline: start + .seconds(1))
        #expect(requests.nextDeadline == start)
        #expect(requests.takeOverdue(now: start - .nanoseconds(1)) == nil)
        #expect(requests.takeOverdue(now: start) == "first")
        #expect(requests.takeOverdue(now: start) == nil)
        #expect(requests.nextDeadline == start + .seconds(1))
        #expect(requests.take(first) == nil, "a late reply for a timed-out request")
        #expect(requests.takeOverdue(now: start + .seconds(1)) == "second")
        #expect(requests.nextDeadline == nil)
    }

    @Test func takeAllEmptiesAndKeepsTokensIncreasing() {
        var requests = OutstandingRequests<Int>()
        let tokens = (0..<5).map { requests.add($0, deadline: start) }
        #expect(requests.take(tokens[2]) == 2)
        #expect(requests.takeAll() == [0, 1, 3, 4])
        #expect(requests.isEmpty)
        #expect(requests.add(5, deadline: start) == tokens[4] + 1)
        #expect(requests.take(tokens[4]) == nil)
    }
}
