-- Up Migration
-- The positions-open gauge counts a book's open positions on every open and close.
CREATE INDEX positions_open_by_book ON positions (book) WHERE status = 'open';

-- Down Migration
DROP INDEX positions_open_by_book;
