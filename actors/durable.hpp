#pragma once
// What an owner actor needs to be durable: changes gathered during a mailbox
// drain go to the store writer in one batch at a flush_tick queued behind the
// waiting messages, and answers to successful API changes are held until one
// store_sync after that batch says they are committed. Work that must follow
// the commit (post-action webhooks) waits for the same sync.

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/store_actor.hpp"
#include "store/records.hpp"

namespace sb::actors {

template <class Reply>
class durable_writes {
 public:
  // store may be invalid (no store: nothing is written, nothing is held).
  void set_store(caf::actor store) { store_ = std::move(store); }
  bool has_store() const { return static_cast<bool>(store_); }
  // Nothing gathered, held, waiting for a commit or for a sync's answer:
  // everything the owner wrote is committed (or still being retried by a
  // failing store writer, which keeps it).
  bool quiet() const { return batch_.empty() && held_.empty() && after_.empty() && !scheduled_ && syncs_ == 0; }

  void put(std::string scope, std::string sid, const store::entity& value) {
    if (store_)
      batch_.changes.push_back(store::put(std::move(scope), std::move(sid), value));
  }
  void erase(std::string kind, std::string sid, std::string scope) {
    if (store_)
      batch_.changes.push_back(store::erase(std::move(kind), std::move(sid), std::move(scope)));
  }
  // A batch the owner gathered itself (from its own dirty sets).
  void add(store::write_batch b) {
    if (!store_)
      return;
    auto append = [](auto& to, auto& from) {
      to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
    };
    append(batch_.erased_scopes, b.erased_scopes);
    append(batch_.changes, b.changes);
    append(batch_.events, b.events);
  }
  // Sends what is gathered now, without a sync (an owner's initial state).
  template <class Self>
  void send_batch(Self* self) {
    if (batch_.empty())
      return;
    self->send(store_, store_write{std::move(batch_)});
    batch_ = store::write_batch{};
  }

  // Everything in this scope (and the row whose SID it is) goes.
  void erase_scope(std::string scope) {
    if (store_)
      batch_.erased_scopes.push_back(std::move(scope));
  }

  // Answers now, or (a successful change with a store) after the commit.
  // unavailable is the reply when the commit fails.
  template <class Self>
  void answer(Self* self, caf::response_promise rp, Reply r, bool change) {
    if (!change || !store_) {
      rp.deliver(std::move(r));
      return;
    }
    held_.emplace_back(std::move(rp), std::move(r));
    settle(self);
  }

  // Runs f once the changes made so far are committed (at once without a
  // store). When the commit fails, f waits for the next one that succeeds.
  template <class Self>
  void after_commit(Self* self, std::function<void()> f) {
    if (!store_) {
      f();
      return;
    }
    after_.push_back(std::move(f));
    settle(self);
  }

  // Makes sure a flush_tick is queued when there is anything to write;
  // pending: the owner has changes of its own still to add().
  template <class Self>
  void settle(Self* self, bool pending = false) {
    if (scheduled_ || (!pending && batch_.empty() && held_.empty() && after_.empty()))
      return;
    scheduled_ = true;
    self->send(self, flush_tick{});
  }

  // The flush_tick handler: the batch, and with answers or work waiting for
  // it, one request that the store answers after the commit.
  template <class Self>
  void on_flush_tick(Self* self, Reply unavailable) {
    scheduled_ = false;
    if (held_.empty() && after_.empty()) {
      send_batch(self);
      return;
    }
    struct waiting {
      std::vector<std::pair<caf::response_promise, Reply>> held;
      std::vector<std::function<void()>> after;
    };
    auto w = std::make_shared<waiting>(waiting{std::move(held_), std::move(after_)});
    held_.clear();
    after_.clear();
    // No timeout of its own: in CAF 0.17 a request's timeout stays armed
    // (and holds memory and the clock thread) for its whole length even
    // after the answer; the HTTP bridge's deadline bounds what a client waits.
    // Runs in the owner's context (a response handler), while it lives.
    ++syncs_;
    auto release = [this, w, unavailable](bool ok) {
      --syncs_;
      for (auto& [rp, r] : w->held)
        rp.deliver(ok ? std::move(r) : unavailable);
      if (ok)
        for (auto& f : w->after)
          f();
      else
        after_.insert(after_.begin(), std::make_move_iterator(w->after.begin()), std::make_move_iterator(w->after.end()));
    };
    store::write_batch batch = std::move(batch_);
    batch_ = store::write_batch{};
    self->request(store_, caf::infinite, store_commit{std::move(batch)})
      .then([=](bool ok) { release(ok); }, [=](caf::error&) { release(false); });
  }

 private:
  caf::actor store_;
  store::write_batch batch_;
  std::vector<std::pair<caf::response_promise, Reply>> held_;
  std::vector<std::function<void()>> after_;
  bool scheduled_ = false;
  int syncs_ = 0; // store_commit requests not yet answered
};

} // namespace sb::actors
