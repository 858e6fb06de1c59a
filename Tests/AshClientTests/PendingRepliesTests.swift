import Testing

@testable import AshClient

@Suite struct PendingRepliesTests {
    @Test func repliesInAnyOrderAreTakenOnceAndTheFrontShrinks() {
        var replies = PendingReplies<String>()
        let a = replies.add("a")
        let b = replies.add("b")
        let c = replies.add("c")
        #expect([a, b, c] == [a, a + 1, a + 2])
        #expect(replies.take(b) == "b")
        #expect(replies.take(b) == nil, "taken twice")
        #expect(replies.take(a) == "a")
        #expect(replies.take(c + 1) == nil, "a token never handed out")
        #expect(replies.take(c) == "c")
        #expect(replies.isEmpty)
        #expect(replies.take(a) == nil, "a token from before the front")
        let d = replies.add("d")
        #expect(d == c + 1)
        #expect(replies.take(d) == "d")
    }

    @Test func takeAllEmptiesAndKeepsTokensIncreasing() {
        var replies = PendingReplies<Int>()
        let tokens = (0..<5).map { replies.add($0) }
        #expect(replies.take(tokens[2]) == 2)
        #expect(replies.takeAll() == [0, 1, 3, 4])
        #expect(replies.isEmpty)
        #expect(replies.add(5) == tokens[4] + 1)
        #expect(replies.take(tokens[4]) == nil)
    }
}
